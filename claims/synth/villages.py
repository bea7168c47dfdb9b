"""Names of a synthetic county's administrative villages (行政村) and townships (乡镇): the villages file
``villages.csv`` (村代码, 村名, 乡镇名) that a county office would export, read by
:func:`claims.lifecycle.villages.import_villages` (``relief villages import``).

Names are real-looking and belong to no place on purpose: a village is a surname or a direction with a
settlement word and 村 (张家庄村, 前营村, 东王楼村), a township two characters with 镇 or 乡 (平安镇, 兴隆乡).
They are drawn from their own part generator ``"villages"`` (:func:`claims.synth.arrays.part_rng`), so the
roster and the reports are the same with or without them; within a county no two villages or townships
share a name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims.synth.arrays import part_rng

VILLAGE_HEADS = "张王李刘陈杨赵黄周吴孙胡朱高马郭何宋郑韩冯董曹邓彭吕苏蒋魏田"
VILLAGE_PLACES = ("庄", "家庄", "家沟", "家洼", "家屯", "家寨", "家湾", "楼", "集", "店", "营", "堡", "家岭", "固")
VILLAGE_DIRECTIONS = "东西南北前后大小"
#: every village name of the pool: 张庄村 … 魏固村, 东张庄村 … 小魏固村
VILLAGE_POOL = np.array([h + p + "村" for h in VILLAGE_HEADS for p in VILLAGE_PLACES]
                        + [d + h + p + "村" for d in VILLAGE_DIRECTIONS for h in VILLAGE_HEADS for p in VILLAGE_PLACES])
TOWNSHIP_WORDS = ("平安", "兴隆", "双井", "牙里", "回隆", "院堡", "棘针", "沙口", "北皋", "边马", "车往", "大辛庄",
                  "东代固", "前大磨", "仕望集", "野胡拐", "张二庄", "南双庙", "泊口", "德政", "高庄", "杨桥", "西乡",
                  "马头", "南留", "北沿", "魏城", "城关", "新城", "丰乐")
TOWNSHIP_KINDS = ("镇", "乡")


def village_frame(village_codes: np.ndarray, seed: int) -> pd.DataFrame:
    """The villages file of a county whose administrative villages are ``village_codes`` (12 digits, the
    township = the first 9): 村代码, 村名, 乡镇名, one row per village in code order."""
    codes = np.sort(np.unique(np.asarray(village_codes).astype(str)))
    towns = np.unique(np.array([c[:9] for c in codes]))
    if len(codes) > len(VILLAGE_POOL):
        raise ValueError(f"more villages ({len(codes)}) than village names ({len(VILLAGE_POOL)})")
    rng = part_rng(seed, "villages")
    names = VILLAGE_POOL[rng.permutation(len(VILLAGE_POOL))[:len(codes)]]
    words = [TOWNSHIP_WORDS[i % len(TOWNSHIP_WORDS)] + ("" if i < len(TOWNSHIP_WORDS) else str(i // len(TOWNSHIP_WORDS)))
             for i in rng.permutation(max(len(towns), len(TOWNSHIP_WORDS)))[:len(towns)]]
    kinds = rng.choice(len(TOWNSHIP_KINDS), size=len(towns), p=[0.7, 0.3])
    town_name = {t: w + TOWNSHIP_KINDS[k] for t, w, k in zip(towns, words, kinds, strict=True)}
    return pd.DataFrame({"村代码": codes, "村名": names, "乡镇名": [town_name[c[:9]] for c in codes]})


__all__ = ["village_frame"]
