"""Task grouping on the inter-task affinities that Fifty et al. (TAG, NeurIPS 2021) published.

The tables are the "TAG average inter-task affinities" of the authors' network-selection
notebook, google-research/google-research, ``tag/network_selection/TAG_network_selection.ipynb``
at commit dec705a28fea05552916c0b83c52f5f23609e8ee (Apache-2.0): Taskonomy (five tasks: semantic
segmentation, depth, normals, keypoints, 2D edges) and CelebA (nine attributes).

In the notebook a task's score in a group is the mean of ``table[task][other]`` over the other
members, a task alone in a group scores -1e6, and the choice of at most ``k`` (possibly
overlapping) groups maximises the mean over tasks of each task's best group. So
``table[b][a]`` is the affinity of ``a`` onto ``b``: our matrix is its transpose, and
``singleton_score=-1e6``. The expected groups are the ones that notebook's exhaustive
selection returns from the same tables (its enumeration was run outside the project beside
ours, 29 Nov 2026); the groupings printed in the paper itself could not be checked offline.
"""

from __future__ import annotations

import numpy as np
import pytest

from transferkit.transferability import choose_task_groups

TASKONOMY = ["ss_l", "depth_l", "norm_l", "key_l", "edge2d_l"]
# TASKONOMY_TABLE[a][b] in the notebook's key order (rows a, columns b)
TASKONOMY_TABLE = [
    [11.999321423965947, 0.11537429894122785, 0.04891036220837213, 0.00454724706606927, 0.008776140044461892],
    [0.41355850961858076, 7.3276368896443556, 0.2914147606289435, 0.01353652075974951, 0.07395688217092156],
    [0.13982367687578146, 0.22096194178241185, 1.070989344832557, 0.010493772045577332, 0.07645966827511533],
    [0.021098526716001414, 0.013365983131803236, 0.010729013557423, 0.7338844180545812, 0.6897358940641894],
    [0.056692022190245474, 0.03668338077695892, 0.03600666458561003, 0.30372134710544996, 5.9661909882444615],
]  # fmt: skip

CELEBA = [
    "5_o_Clock_Shadow", "Black_Hair", "Blond_Hair", "Brown_Hair", "Goatee", "Mustache",
    "No_Beard", "Rosy_Cheeks", "Wearing_Hat",
]  # fmt: skip
CELEBA_TABLE = [
    [239.72068958020347, -83.33548677967012, -86.0517490934864, -82.42068049883574, -81.97442569877438, -86.02419971908775, -49.037597943401195, -87.3711143500207, -86.77026014855653],
    [-188.15657486387036, 378.8511885198165, -184.52892836169266, -147.50232270522932, -189.464933472838, -190.9978380658358, -185.28495779578083, -190.6576875894878, -189.41933750548824],
    [-121.05393759410462, -109.58362502552134, 310.7120317369794, -106.02204254857973, -122.62230998931582, -124.40291642298871, -117.20407488470592, -120.55632616819761, -123.25851616996826],
    [-143.72124825753016, -112.17930410506702, -139.84807280830086, 321.53891335979023, -145.42740587751805, -146.78348353101595, -142.3971373230815, -146.29884678475298, -146.22726918591053],
    [-85.53234687179813, -92.21160616332925, -95.75043274633258, -91.74112249406916, 238.42495844470608, -65.42735927466887, -45.95103369426986, -98.59883005339663, -95.6828851878095],
    [-30.223281466637463, -32.697193679549336, -34.78380316865219, -33.47520370724056, -0.8396637863075016, 178.66788767657505, -15.271524701599517, -35.20658096923006, -34.37035408412552],
    [-109.47881478244865, -147.50179136978863, -152.39464713301385, -148.48881711332825, -127.31550988605389, -147.13584310859744, 291.8495619980659, -157.47676146469695, -156.15812124227463],
    [-74.97883839974561, -74.24941175274341, -72.04941829851619, -73.83159368156338, -76.45193929878833, -76.49830443422142, -75.21144504121774, 240.390333377952, -77.00375527569419],
    [-109.37079668739855, -100.84965267237799, -113.52459033628551, -110.64525748395384, -110.26379082868624, -116.10172294652246, -106.51167682200729, -119.35220036279986, 374.6323404450723],
]  # fmt: skip


def _groups(table, tasks, k):
    z = np.asarray(table).T  # z[i, j]: affinity of task i onto task j
    res = choose_task_groups(z, k, tasks=tasks, singleton_score=-1e6)
    assert res.exact
    return {frozenset(g) for g in res.groups}, res.score / len(tasks)


@pytest.mark.parametrize(
    "k,expected,mean_score",
    [
        (1, [TASKONOMY], 0.1292923306272447),
        (2, [["ss_l", "depth_l", "norm_l"], ["key_l", "edge2d_l"]], 0.3216958032394596),
        (
            3,
            [["ss_l", "depth_l"], ["depth_l", "norm_l"], ["key_l", "edge2d_l"]],
            0.34867039830237195,
        ),
        (
            4,
            [["ss_l", "depth_l"], ["depth_l", "norm_l"], ["key_l", "edge2d_l"]],
            0.34867039830237195,
        ),
    ],
)
def test_taskonomy_tag_affinities_give_the_authors_grouping(k, expected, mean_score):
    groups, score = _groups(TASKONOMY_TABLE, TASKONOMY, k)
    assert groups == {frozenset(g) for g in expected}
    assert score == pytest.approx(mean_score, abs=1e-9)  # the notebook's objective (a mean)


@pytest.mark.parametrize(
    "k,expected,mean_score",
    [
        (
            2,
            [["5_o_Clock_Shadow", "No_Beard"], [t for t in CELEBA if t != "5_o_Clock_Shadow"]],
            -99.44181870393945,
        ),
        (
            3,
            [
                ["5_o_Clock_Shadow", "No_Beard"],
                ["Black_Hair", "Brown_Hair"],
                [t for t in CELEBA if t not in ("5_o_Clock_Shadow", "Brown_Hair")],
            ],
            -92.4384292862353,
        ),
    ],
)
def test_celeba_tag_affinities_give_the_authors_grouping(k, expected, mean_score):
    groups, score = _groups(CELEBA_TABLE, CELEBA, k)
    assert groups == {frozenset(g) for g in expected}
    assert score == pytest.approx(mean_score, abs=1e-9)
