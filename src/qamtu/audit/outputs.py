"""Files the audit and the calibration write: CSV tables, ``summary.json`` and PNG plots, all atomically.

Every file name, column, title and axis label says MEASURED or PREDICTED. Matplotlib is imported inside the
plotting functions with the non-interactive Agg backend.

``qamtu audit`` writes to ``OUT``:
    ``summary.json`` (``rows_read`` = ``rows_accepted`` + ``rows_rejected`` + ``rows_excluded``,
    ``samples_audited``, ``kpis`` [city, operator, tech, period, norm, norm_mbps, samples, n_eff, share, ci_low,
    ci_high, verdict, samples_needed, samples_needed_eff], where the samples outside every area are, fallback and
    no-service shares, parameters, degradation flags), ``kpis_measured.csv``, ``percentiles_measured.csv``,
    ``degradation_measured.csv`` (two periods only), ``technology_measured.csv`` (share of samples and of drive
    time per technology class: 5G, 4G, 3G, 2G, no service), ``sessions_measured.csv`` (one row per transfer),
    ``samples_measured.csv`` (each sample: file, line, area, period, 50 m bin, status), ``rejects.csv`` (always,
    possibly empty: rejected rows and dropped fields), ``cdf_measured_<area>.png`` (downlink throughput CDF per
    period, operator and technology, norms marked), ``map_measured_<area>.png`` (one row of panels per period:
    samples coloured by whether they reach their norm, failures drawn underneath, verdicts in the legend).
    Numbers in CSVs are rounded to their precision (:data:`CSV_DECIMALS`).
``qamtu calibrate`` writes to ``OUT``:
    ``calibration.json`` (docs/DESIGN.md format), ``calibration_classes.csv``, ``calibration_samples.csv``
    (measured, predicted and corrected RSRP per sample), ``summary.json``, ``predicted_vs_measured.png`` and
    ``residual_map.png`` (residual predicted - measured before and after the correction).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from qamtu.audit.calibration import CalibrationResult, class_summary, write_calibration
from qamtu.audit.ingest import Measurements, write_rejects
from qamtu.audit.kpi import DEFAULT_NORMS, Norm
from qamtu.audit.pipeline import AuditResult
from qamtu.fileio import write_csv_atomic, write_json_atomic
from qamtu.plotting import pyplot, save_png


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)) or "x"


#: Decimals kept in CSV outputs, by column-name pattern (first match wins); other floats keep 6 significant
#: digits. Measured dB values come at 1 dB (RSRP) / 0.5 dB (SINR) resolution from phones; coordinates at 6
#: decimals (~0.1 m); shares at 4 (0.01 %).
CSV_DECIMALS = ((r"^(lat|lon)(_min|_max)?$", 6), (r"_(dbm|db)$", 2), (r"(_mbps|_mbps_mean)$", 3),
                (r"^(share|share_[a-z]+|ci_low|ci_high|required_share|cliffs_delta|effect_size|cohens_h)$", 4),
                (r"^(n_eff|z|duration_s|time_s)$", 2))


def _significant(values: pd.Series, digits: int = 6) -> pd.Series:
    return values.map(lambda v: float(f"{v:.{digits}g}") if np.isfinite(v) else v)


def round_for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with float columns rounded to their precision (:data:`CSV_DECIMALS`; p-values and other floats to 6
    significant digits), so that no CSV shows ``7.1000000000000005``."""
    out = frame.copy()
    for col in out.columns:
        if not pd.api.types.is_float_dtype(out[col]):
            continue
        for pattern, decimals in CSV_DECIMALS:
            if re.search(pattern, str(col)):
                out[col] = out[col].round(decimals)
                break
        else:
            out[col] = _significant(out[col])
    return out


def _csv(frame: pd.DataFrame, path: Path, *, rounded: bool = True) -> Path:
    return write_csv_atomic(path, round_for_csv(frame) if rounded else frame)


def plot_throughput_cdf(frame: pd.DataFrame, city: str, norms: Sequence[Norm], path: Path) -> Path:
    """Empirical CDF of MEASURED downlink throughput per period, operator and technology for one city."""
    plt = pyplot()
    data = frame[(frame["city"] == city) & frame["period"].notna() & frame["dl_mbps"].notna()]
    fig, ax = plt.subplots(figsize=(8, 5))
    styles = ["-", "--", ":", "-."]
    periods = sorted(data["period"].unique())
    for (op, tech), grp in data.groupby(["operator", "tech"], sort=True):
        for i, period in enumerate(periods):
            g = grp[grp["period"] == period]
            if g.empty:
                continue
            order = np.argsort(g["dl_mbps"].to_numpy(float))
            v = np.maximum(g["dl_mbps"].to_numpy(float)[order], 1e-3)
            w = g["weight"].to_numpy(float)[order]
            cdf = np.cumsum(w) / w.sum()
            ax.step(v, cdf, where="post", linestyle=styles[i % len(styles)], label=f"{op} {tech} {period} (n={len(g)})")
    for norm in norms:
        if norm.dl_mbps > 0:
            ax.axvline(norm.dl_mbps, color="grey", linewidth=0.8)
            ax.text(norm.dl_mbps, 0.02, f" {norm.name} {norm.dl_mbps:g}", rotation=90, fontsize=7, va="bottom")
    # log axis; zero throughputs (allowed) are drawn at the left edge
    positive = data["dl_mbps"][data["dl_mbps"] > 0]
    marks = [n.dl_mbps for n in norms if n.dl_mbps > 0] + ([float(positive.min())] if len(positive) else [])
    left = 0.5 * min(marks or [1.0])
    ax.set_xscale("log")
    ax.set_xlim(left=left)
    ax.set_xlabel("MEASURED downlink throughput, Mbit/s")
    ax.set_ylabel("share of samples (tiles: of tests) at or below")
    ax.set_ylim(0, 1)
    ax.set_title(f"{city}: MEASURED downlink throughput CDF per period")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    try:
        return save_png(fig, path)
    finally:
        plt.close(fig)


def plot_verdict_map(frame: pd.DataFrame, kpis: pd.DataFrame, city: str, norms: Sequence[Norm], path: Path) -> Path:
    """Map (lon/lat) of one area's MEASURED samples: one row of panels per period, one panel per norm.

    Samples that miss the norm are drawn FIRST and those that reach it on top, small and half transparent, so
    that a dense drive does not look red because the failures were painted last; each panel's title gives the
    share that reaches the norm, and its legend the verdict of every (operator, tech) group in that period.
    """
    plt = pyplot()
    data = frame[(frame["city"] == city) & frame["period"].notna() & frame["dl_mbps"].notna()]
    used = [n for n in norms if data["tech"].map(n.applies_to).any()] or list(norms)[:1]
    periods = sorted(data["period"].unique()) or ["all"]
    fig, axes = plt.subplots(len(periods), len(used), figsize=(5.5 * len(used), 5 * len(periods)), squeeze=False)
    lat0 = float(data["lat"].mean()) if len(data) else 45.0
    for r, period in enumerate(periods):
        dp = data[data["period"] == period]
        for ax, norm in zip(axes[r], used):
            g = dp[dp["tech"].map(norm.applies_to)]
            ok = g["dl_mbps"].to_numpy(float) >= norm.dl_mbps
            ax.scatter(g["lon"][~ok], g["lat"][~ok], s=5, c="tab:red", alpha=0.5, linewidths=0,
                       label=f"< {norm.dl_mbps:g} Mbit/s ({int((~ok).sum())})")
            ax.scatter(g["lon"][ok], g["lat"][ok], s=5, c="tab:green", alpha=0.5, linewidths=0,
                       label=f">= {norm.dl_mbps:g} Mbit/s ({int(ok.sum())})")
            k = kpis[(kpis["city"] == city) & (kpis["norm"] == norm.name) & (kpis["period"] == period)]
            for rec in k.itertuples(index=False):
                ax.plot([], [], " ", label=f"{rec.operator} {rec.tech}: {rec.verdict} "
                                           f"({100 * rec.share:.0f} % [{100 * rec.ci_low:.0f}-{100 * rec.ci_high:.0f}])")
            share = f"{100 * ok.mean():.0f} % reach it" if len(g) else "no samples"
            ax.set_title(f"{city}, {period}\nMEASURED vs {norm.name} ({norm.dl_mbps:g} Mbit/s): {share}", fontsize=8)
            ax.set_xlabel("longitude, deg")
            ax.set_ylabel("latitude, deg")
            ax.legend(fontsize=6, loc="best", markerscale=2)
            ax.set_aspect(1.0 / max(np.cos(np.radians(lat0)), 0.1))
    try:
        return save_png(fig, path)
    finally:
        plt.close(fig)


def write_audit_outputs(
    result: AuditResult,
    measurements: Measurements,
    out_dir: str | Path,
    norms: Sequence[Norm] = DEFAULT_NORMS,
    *,
    plots: bool = True,
) -> dict[str, Path]:
    """Write the audit's tables, plots and ``summary.json`` to ``out_dir``; returns the paths by role."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["rejects"] = write_rejects(measurements, out / "rejects.csv")
    paths["kpis"] = _csv(result.kpis, out / "kpis_measured.csv")
    paths["percentiles"] = _csv(result.percentiles, out / "percentiles_measured.csv")
    if result.degradation is not None:
        paths["degradation"] = _csv(result.degradation, out / "degradation_measured.csv")
    if result.technology is not None:
        paths["technology"] = _csv(result.technology, out / "technology_measured.csv")
    if result.sessions is not None:
        paths["sessions"] = _csv(result.sessions, out / "sessions_measured.csv")
    if result.samples is not None:
        paths["samples"] = _csv(result.samples, out / "samples_measured.csv")
    if plots:
        for city in sorted(c for c in result.frame["city"].dropna().unique()):
            has = result.frame[(result.frame["city"] == city) & result.frame["period"].notna()]
            if has["dl_mbps"].notna().any():
                paths[f"cdf_{city}"] = plot_throughput_cdf(result.frame, city, norms,
                                                           out / f"cdf_measured_{_safe(city)}.png")
                paths[f"map_{city}"] = plot_verdict_map(result.frame, result.kpis, city, norms,
                                                        out / f"map_measured_{_safe(city)}.png")
    summary = dict(result.summary)
    summary["files"] = {k: v.name for k, v in paths.items()}
    paths["summary"] = write_json_atomic(out / "summary.json", summary)
    return paths


def plot_predicted_vs_measured(result: CalibrationResult, path: Path) -> Path:
    """Scatter of PREDICTED (before and after the correction) against MEASURED RSRP, per class, hold-out marked."""
    plt = pyplot()
    s = result.samples
    fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharex=True, sharey=True)
    for ax, col, title in ((axes[0], "predicted_rsrp_dbm", "before"), (axes[1], "corrected_rsrp_dbm", "after")):
        for name, g in s.groupby("env_class"):
            for split, marker in (("fit", "o"), ("holdout", "x")):
                h = g[g["split"] == split]
                if not h.empty:
                    ax.scatter(h["measured_rsrp_dbm"], h[col], s=8, marker=marker, alpha=0.6,
                               label=f"{name} ({split}, n={len(h)})")
        lo = float(min(s["measured_rsrp_dbm"].min(), s[col].min())) - 3
        hi = float(max(s["measured_rsrp_dbm"].max(), s[col].max())) + 3
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8)
        ax.set_xlabel("MEASURED SS-RSRP, dBm")
        ax.set_ylabel(f"PREDICTED SS-RSRP ({title} calibration), dBm")
        ax.set_title(f"PREDICTED vs MEASURED, {title} calibration")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    try:
        return save_png(fig, path)
    finally:
        plt.close(fig)


def plot_residual_map(result: CalibrationResult, sites: pd.DataFrame | None, path: Path) -> Path:
    """Map of the residual PREDICTED - MEASURED RSRP before and after the correction (diverging colours)."""
    plt = pyplot()
    s = result.samples
    lim = float(np.nanpercentile(np.abs(s["residual_db"]), 98)) if len(s) else 10.0
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharex=True, sharey=True)
    for ax, col, title in ((axes[0], "residual_db", "before"), (axes[1], "residual_after_db", "after")):
        sc = ax.scatter(s["lon"], s["lat"], c=s[col], cmap="RdBu_r", vmin=-lim, vmax=lim, s=8)
        if sites is not None and len(sites):
            ax.scatter(sites["lon"], sites["lat"], marker="^", c="black", s=25, label="sites")
            ax.legend(fontsize=7)
        ax.set_title(f"PREDICTED - MEASURED RSRP, {title} calibration (dB)", fontsize=9)
        ax.set_xlabel("longitude, deg")
        ax.set_ylabel("latitude, deg")
        fig.colorbar(sc, ax=ax, label="dB (red: model too optimistic)")
    try:
        return save_png(fig, path)
    finally:
        plt.close(fig)


def write_calibration_outputs(
    result: CalibrationResult,
    out_dir: str | Path,
    *,
    sites: pd.DataFrame | None = None,
    extra_summary: dict[str, Any] | None = None,
    plots: bool = True,
) -> dict[str, Path]:
    """Write ``calibration.json`` and the calibration report (tables, plots, ``summary.json``) to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["calibration"] = Path(write_calibration(result, out / "calibration.json"))
    paths["classes"] = _csv(class_summary(result), out / "calibration_classes.csv", rounded=False)
    paths["samples"] = _csv(result.samples, out / "calibration_samples.csv", rounded=False)
    if plots and len(result.samples):
        paths["scatter"] = plot_predicted_vs_measured(result, out / "predicted_vs_measured.png")
        paths["residual_map"] = plot_residual_map(result, sites, out / "residual_map.png")
    summary = {
        "quantity": "PREDICTED path loss corrected to MEASURED RSRP",
        **(extra_summary or {}),
        "samples_used": int(len(result.samples)),
        "excluded": result.excluded,
        "classes": result.classes,
        "parameters": result.parameters,
        "files": {k: v.name for k, v in paths.items()},
    }
    paths["summary"] = write_json_atomic(out / "summary.json", summary)
    return paths
