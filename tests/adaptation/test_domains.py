import numpy as np
import pytest

from transferkit.data import Domain
from transferkit.data.domains import build_mnist_m, load_amazon_reviews, load_image_folder
from transferkit.exceptions import DataError

PIL = pytest.importorskip("PIL.Image")


def _write_photos(folder, n=3, size=(40, 30)):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    photos = []
    for i in range(n):
        arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        PIL.fromarray(arr).save(folder / f"{i}.png")  # lossless so the test can compare pixels
        photos.append(arr.astype(np.float32) / 255)
    return photos


def test_build_mnist_m_is_abs_difference_of_a_crop(tmp_path):
    photos = _write_photos(tmp_path / "bsds500_train_images")
    rng = np.random.default_rng(1)
    digits = Domain(rng.random((6, 1, 8, 8)).astype(np.float32), np.arange(6) % 3, "m", 3)
    out = build_mnist_m(digits, tmp_path, seed=3)
    assert out.X.shape == (6, 3, 8, 8) and out.X.dtype == np.float32
    assert np.array_equal(out.y, digits.y) and 0 <= out.X.min() and out.X.max() <= 1
    # every output equals |crop - digit| for some 8x8 crop of some photo (exhaustive search)
    for i in range(6):
        found = False
        for ph in photos:
            for top in range(ph.shape[0] - 7):
                for left in range(ph.shape[1] - 7):
                    crop = ph[top : top + 8, left : left + 8].transpose(2, 0, 1)
                    if np.allclose(out.X[i], np.abs(crop - digits.X[i]), atol=1e-6):
                        found = True
                        break
                if found:
                    break
            if found:
                break
        assert found, f"sample {i} is not |crop - digit|"
    again = build_mnist_m(digits, tmp_path, seed=3)
    other = build_mnist_m(digits, tmp_path, seed=4)
    assert np.array_equal(out.X, again.X) and not np.array_equal(out.X, other.X)


def test_build_mnist_m_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    d = Domain(np.zeros((2, 1, 8, 8), np.float32), np.array([0, 1]), "m", 2)
    with pytest.raises(DataError, match="no BSDS500 images"):
        build_mnist_m(d, tmp_path / "empty")
    with pytest.raises(DataError, match=r"grey images \[N, 1, H, W\]"):
        build_mnist_m(Domain(np.zeros((2, 3, 8, 8), np.float32), None, "c"), tmp_path / "empty")


FILL = {"bike": 0, "cup": 40, "pen": 80}


def test_image_folder_layout(tmp_path):
    for dom, classes in (("amazon", ["bike", "cup", "pen"]), ("webcam", ["bike", "pen"])):
        for c in classes:
            (tmp_path / dom / c).mkdir(parents=True)
            for k in range(2):
                PIL.fromarray(np.full((20, 24, 3), FILL[c] + k, np.uint8)).save(tmp_path / dom / c / f"{k}.jpg")
    src = load_image_folder(tmp_path, "amazon", image_size=8)
    assert src.X.shape == (6, 3, 8, 8) and list(src.class_names) == ["bike", "cup", "pen"]
    assert src.y.tolist() == [0, 0, 1, 1, 2, 2]
    tgt = load_image_folder(tmp_path, "webcam", image_size=8, classes=src.class_names)
    assert tgt.y.tolist() == [0, 0, 2, 2] and tgt.num_classes == 3
    assert abs(tgt.X[2].mean() * 255 - 80) < 3 and abs(src.X[2].mean() * 255 - 40) < 3  # 'pen' images were filled with 80
    with pytest.raises(DataError, match="domain folder 'dslr' not found.*amazon, webcam"):
        load_image_folder(tmp_path, "dslr")
    with pytest.raises(DataError, match="class folders not in the class list: cup"):
        load_image_folder(tmp_path, "amazon", classes=["bike", "pen"])


def test_amazon_svmlight_layout(tmp_path):
    folder = tmp_path / "amazon_reviews_dann_5000"
    folder.mkdir()
    (folder / "books_train.svmlight").write_text("1 0:2 4999:1\n-1 7:3\n")
    d = load_amazon_reviews("B", "train", root=tmp_path)
    assert d.X.shape == (2, 5000) and d.y.tolist() == [1, 0]
    assert d.X[0, 0] == 2 and d.X[0, 4999] == 1 and d.X[1, 7] == 3
    with pytest.raises(DataError, match="unknown Amazon reviews domain 'music'"):
        load_amazon_reviews("music", root=tmp_path)
    with pytest.raises(DataError, match="'dvd_train.svmlight' not found"):
        load_amazon_reviews("dvd", root=tmp_path)


def test_amazon_real_files_if_present():
    from transferkit._utils import default_data_root

    if not (default_data_root() / "amazon_reviews_400").is_dir():
        pytest.skip("shared data not available")
    d = load_amazon_reviews("kitchen", "all", features="400")
    assert d.X.shape == (1999, 400) and int(d.y.sum()) == 999  # MANIFEST section 7
