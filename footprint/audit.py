"""The local authority audit: how much of each unit lies in each LA.

The rule planners work under is that a CCG should not cross a local authority
boundary; a footprint may cover several LAs. The audit measures, for every
unit, the share of its area in each LA, its *home* LA (the largest share) and
whether it crosses LA boundaries by more than a tolerance. Units that share a
home LA form one *LA block*, which the ``whole-la`` rule keeps together.

The CCG and LA layers were generalised separately, so their common borders do
not coincide exactly: shares are measured on each unit shrunk by
``edge_m`` metres, which ignores the slivers along borders without hiding a
real crossing (a real one is kilometres deep).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import pandas as pd

from .errors import ConstraintsError
from .geography import Geography

Tier = Literal["upper", "lower"]


@dataclass(frozen=True, eq=False)
class LAAudit:
    """The outcome of :func:`audit_la`.

    Attributes
    ----------
    shares
        One row per (unit, LA) overlap: ``unit_code``, ``la_code``, ``la_name``,
        ``share`` (of the unit's area, 0-1), sorted by unit then share.
    units
        One row per unit: ``unit_code``, ``home_la``, ``home_la_name``,
        ``home_share``, ``outside_share``, ``n_las`` (LAs above the tolerance),
        ``crosses`` (outside share above the tolerance), ``block``.
    """

    tier: Tier
    tolerance: float
    edge_m: float
    shares: pd.DataFrame
    units: pd.DataFrame

    @property
    def crossing_units(self) -> list[str]:
        return self.units.loc[self.units["crosses"], "unit_code"].tolist()

    @property
    def blocks(self) -> dict[str, str]:
        """Unit code -> LA block (its home LA code)."""
        return dict(zip(self.units["unit_code"], self.units["block"], strict=True))

    @property
    def block_names(self) -> dict[str, str]:
        """LA block -> the name a planner reads ("Newcastle upon Tyne", not E08000021).

        A unit outside every LA (offshore) is its own block, named by its code.
        """
        named = self.units.dropna(subset=["home_la_name"])
        out = dict(zip(named["block"].astype(str), named["home_la_name"].astype(str), strict=True))
        for block in self.units["block"].astype(str):
            out.setdefault(block, block)
        return out

    @property
    def la_names(self) -> dict[str, str]:
        """LA code -> LA name, for every LA a unit overlaps."""
        return dict(
            zip(self.shares["la_code"].astype(str), self.shares["la_name"].astype(str), strict=True)
        )

    @property
    def n_blocks(self) -> int:
        return int(self.units["block"].nunique())

    def las_of(self, unit_code: str) -> list[str]:
        """LA codes a unit covers above the tolerance, largest share first."""
        rows = self.shares[
            (self.shares["unit_code"] == unit_code) & (self.shares["share"] > self.tolerance)
        ]
        return rows["la_code"].tolist()


def audit_la(
    geography: Geography,
    *,
    tier: Tier = "upper",
    tolerance: float = 0.01,
    edge_m: float = 100.0,
) -> LAAudit:
    """Measure every unit's share in each local authority.

    Parameters
    ----------
    tier
        ``"upper"`` (counties and unitaries, 152 in 2013) or ``"lower"`` (326 districts).
    tolerance
        A unit *crosses* when more than this share of its area (0-1) lies
        outside its home LA. Also the share below which an LA is not counted
        among those a unit covers.
    edge_m
        Border slivers narrower than this are ignored (see the module notes).
    """
    if not 0 <= tolerance < 0.5:
        raise ConstraintsError(
            f"tolerance must be a share between 0 and 0.5 (e.g. 0.01 for 1%); got {tolerance!r}"
        )
    if tier not in ("upper", "lower"):
        raise ConstraintsError(f"tier must be 'upper' or 'lower'; got {tier!r}")
    las = geography.la_upper if tier == "upper" else geography.la_lower
    if las is None:
        raise ConstraintsError(
            f"{geography.name} has no {tier}-tier local authority layer; an LA audit needs one: "
            "upload an LA layer beside the boundaries (la_boundaries; --la-boundaries on the "
            "command line)"
        )
    units = geography.units[["code", "geometry"]].copy()
    shrunk = units.geometry.buffer(-edge_m, quad_segs=2)
    # a unit thinner than 2*edge_m would vanish: measure those unshrunk
    units["geometry"] = shrunk.where(~shrunk.is_empty, units.geometry)
    pieces = gpd.overlay(
        units.rename(columns={"code": "unit_code"}),
        las[["code", "name", "geometry"]].rename(columns={"code": "la_code", "name": "la_name"}),
        how="intersection",
        keep_geom_type=True,
    )
    pieces["area"] = pieces.area
    shares = pieces.groupby(["unit_code", "la_code", "la_name"], as_index=False)["area"].sum()
    shares["share"] = shares["area"] / shares.groupby("unit_code")["area"].transform("sum")
    shares = shares.sort_values(["unit_code", "share"], ascending=[True, False]).reset_index(
        drop=True
    )
    shares = shares[["unit_code", "la_code", "la_name", "share"]]

    home = shares.drop_duplicates("unit_code").set_index("unit_code")
    n_las = shares[shares["share"] > tolerance].groupby("unit_code").size()
    out = pd.DataFrame({"unit_code": geography.units["code"]})
    out["home_la"] = out["unit_code"].map(home["la_code"])
    out["home_la_name"] = out["unit_code"].map(home["la_name"])
    out["home_share"] = out["unit_code"].map(home["share"]).fillna(0.0)
    out["outside_share"] = 1.0 - out["home_share"]
    out["n_las"] = out["unit_code"].map(n_las).fillna(0).astype(int)
    out["crosses"] = out["outside_share"] > tolerance
    # a unit outside every LA (offshore) is its own block
    out["block"] = out["home_la"].fillna(out["unit_code"])
    return LAAudit(tier=tier, tolerance=tolerance, edge_m=edge_m, shares=shares, units=out)
