"""Terrain along every link: profile sampling from the study area's DEM and the delta-Bullington loss, in Numba.

This is the engine's one hook for terrain and clutter (:func:`qamtu.engine.links.compute_links` calls
:meth:`TerrainHook.evaluate` once per tile, when the study area has a DEM or land cover). Per link (sector -> pixel)
it gives three numbers:

* ``dz_m``: ground height under the site minus ground height under the pixel; the antenna heights stay above
  local ground (the site's ``height_m``, the UE's ``ue_height_m`` on the ground), so the elevation angle of the
  link, and with it the antenna gains, use ``h_bs + dz - h_ut``;
* ``loss_db``: the terrain's **excess** diffraction loss, ``max(Ld(profile) - Ld(plane), 0)``, where ``Ld`` is
  :func:`qamtu.radio.terrain.delta_bullington_loss_db` (P.452-18 §4.2.3; k = 4/3 by default) on the profile
  sampled from the DEM, and ``Ld(plane)`` the same on the straight ground line between the two ends;
* ``nlos``: True where the terrain cuts the direct ray (some intermediate point, with the effective-earth bulge,
  above the line between the two antennas).

How this combines with TR 38.901 (documented choice): the TR 38.901 path-loss models were fitted on (locally) flat
ground and already hold the ground and near-grazing effects of a 1.5 m terminal over it, so only the loss the
terrain adds beyond a plane through the two ground points is added (on flat ground it is exactly 0 and results are
those of a flat run). Terrain that **obstructs** the ray adds its diffraction loss to both the LOS and NLOS path
losses and **forces NLOS** (the LOS probability of the link becomes 0); a link whose terrain only enters the
Fresnel zone keeps its LOS probability and gets the (smaller) excess loss. A profile that is nowhere above the
ground line (a valley, a slope) gets no excess loss, without evaluating the delta-Bullington.

Clutter (with a land-cover raster, :mod:`qamtu.geo.landcover`): a terminal standing in clutter on a pixel whose
TR 38.901 scenario is RMa gets the P.2108-1 §3.2 median clutter loss (:mod:`qamtu.radio.clutter`) on its links.

Profiles are sampled with bilinear interpolation every ``step_m`` (default: the terrain grid's resolution), with
at least 3 and at most ``max_points`` points (long links get a coarser spacing), and only for the links that are
stored (:meth:`TerrainHook.evaluate`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from qamtu.radio.clutter import _lctt50
from qamtu.radio.terrain import DEFAULT_AE_M, _delta_bullington

__all__ = ["TerrainHook", "terrain_kernel", "profile_kernel", "MAX_PROFILE_POINTS"]

#: Most points sampled on one link's profile.
MAX_PROFILE_POINTS = 128


@njit(cache=True, nogil=True, error_model="numpy", fastmath=True)
def _grid_value(z, fc, fr):
    """Bilinear value of grid ``z`` at fractional (column, row) of cell centres, clamped to the grid."""
    rows, cols = z.shape
    fc = min(max(fc, 0.0), cols - 1.0)
    fr = min(max(fr, 0.0), rows - 1.0)
    c0 = min(int(fc), cols - 2)
    r0 = min(int(fr), rows - 2)
    wc = fc - c0
    wr = fr - r0
    return ((z[r0, c0] * (1.0 - wc) + z[r0, c0 + 1] * wc) * (1.0 - wr)
            + (z[r0 + 1, c0] * (1.0 - wc) + z[r0 + 1, c0 + 1] * wc) * wr)


@njit(cache=True, nogil=True, error_model="numpy")
def _bilinear1(z, x0, y0, res, x, y):
    """Bilinear value of a north-up grid (upper-left corner x0, y0; cell ``res``) at (x, y)."""
    return _grid_value(z, (x - x0) / res - 0.5, (y0 - y) / res - 0.5)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=True)
def _fill_profile(zgrid, x0, y0, res, xa, ya, xb, yb, npt, d, h):
    """``npt`` evenly spaced points from (xa, ya) to (xb, yb): distances (km) into d, bilinear heights into h."""
    inv = 1.0 / res
    step = 1.0 / (npt - 1.0)
    fc0 = (xa - x0) * inv - 0.5
    fr0 = (y0 - ya) * inv - 0.5
    dfc = (xb - xa) * inv * step
    dfr = (ya - yb) * inv * step
    dd = math.sqrt((xb - xa) ** 2 + (yb - ya) ** 2) / 1000.0 * step
    for i in range(npt):
        d[i] = i * dd
        h[i] = _grid_value(zgrid, fc0 + i * dfc, fr0 + i * dfr)


@njit(cache=True, nogil=True, error_model="numpy")
def _sample(zgrid, x0, y0, res, xa, ya, xb, yb, za, zb, step_m, max_pts, d, h):
    """Sample the profile from (xa, ya) to (xb, yb) into d (km) and h (m); ends forced to za, zb. Returns n."""
    dist = math.sqrt((xb - xa) ** 2 + (yb - ya) ** 2)
    npt = min(max(int(math.ceil(dist / step_m)) + 1, 3), max_pts)
    _fill_profile(zgrid, x0, y0, res, xa, ya, xb, yb, npt, d, h)
    h[0] = za
    h[npt - 1] = zb
    return npt


@njit(cache=True, nogil=True, error_model="numpy")
def _excess(d, h, zeros, npt, htg, hrg, f_ghz, ae_km, vertical):
    """(excess loss dB, ray obstructed) of a sampled profile against the plane through its two ends.

    The plane's delta-Bullington loss equals that of a zero profile with the antennas ``htg``, ``hrg`` above it
    (Bullington's slopes and nu, and P.452's smooth surface, are unchanged by adding a plane to the terrain and
    both antennas), so ``zeros`` (a buffer of zeros) stands for it.
    """
    dt = d[npt - 1]
    hts = h[0] + htg
    hrs = h[npt - 1] + hrg
    above = False
    blocked = False
    for i in range(1, npt - 1):
        if h[i] > h[0] + (h[npt - 1] - h[0]) * d[i] / dt:
            above = True
            if h[i] + 500.0 * d[i] * (dt - d[i]) / ae_km > (hts * (dt - d[i]) + hrs * d[i]) / dt:
                blocked = True
                break
    if not above:
        return 0.0, False
    la = _delta_bullington(d, h, npt, htg, hrg, f_ghz, ae_km, vertical)
    lr = _delta_bullington(d, zeros, npt, htg, hrg, f_ghz, ae_km, vertical)
    ex = la - lr
    return (ex if ex > 0.0 else 0.0), blocked


@njit(cache=True, nogil=True, error_model="numpy")
def terrain_kernel(px, py, z_pix, clutter_pix, sec, s_x, s_y, s_z, s_h, h_ut, zgrid, x0, y0, res, step_m, max_pts,
                   f_ghz, ae_km, vertical, has_terrain):
    """Per link: (excess terrain loss + clutter loss dB, ray obstructed, site ground minus pixel ground m)."""
    n = px.shape[0]
    loss = np.zeros(n)
    nlos = np.zeros(n, dtype=np.bool_)
    dz = np.zeros(n)
    d = np.empty(max_pts)
    h = np.empty(max_pts)
    zeros = np.zeros(max_pts)
    for k in range(n):
        s = sec[k]
        if k > 0:  # a site's sectors at a pixel (consecutive links, one antenna height): one profile
            q = sec[k - 1]
            if (px[k] == px[k - 1] and py[k] == py[k - 1] and z_pix[k] == z_pix[k - 1]
                    and clutter_pix[k] == clutter_pix[k - 1] and s_x[s] == s_x[q] and s_y[s] == s_y[q]
                    and s_z[s] == s_z[q] and s_h[s] == s_h[q]):
                loss[k] = loss[k - 1]
                nlos[k] = nlos[k - 1]
                dz[k] = dz[k - 1]
                continue
        dist2 = (px[k] - s_x[s]) ** 2 + (py[k] - s_y[s]) ** 2
        if clutter_pix[k]:  # P.2108 §3.2 median, terminal end in clutter (qamtu.radio.clutter)
            loss[k] = _lctt50(math.sqrt(dist2) / 1000.0, f_ghz)
        if not has_terrain:
            continue
        dz[k] = s_z[s] - z_pix[k]
        if dist2 < 4.0 * step_m * step_m:
            continue  # within two DEM cells: no profile to speak of
        npt = _sample(zgrid, x0, y0, res, s_x[s], s_y[s], px[k], py[k], s_z[s], z_pix[k], step_m, max_pts, d, h)
        ex, blocked = _excess(d, h, zeros, npt, s_h[s], h_ut, f_ghz, ae_km, vertical)
        loss[k] += ex
        nlos[k] = blocked
    return loss, nlos, dz


@njit(cache=True, nogil=True, error_model="numpy")
def profile_kernel(xa, ya, xb, yb, zgrid, x0, y0, res, n_pts, htg, hrg, f_ghz, ae_km, vertical):
    """Benchmark/batch form: sample ``n_pts`` points on each link (xa, ya) -> (xb, yb) and return its full
    delta-Bullington loss Ld (dB) on the actual profile (no shortcut)."""
    n = xa.shape[0]
    out = np.empty(n)
    d = np.empty(n_pts)
    h = np.empty(n_pts)
    for k in range(n):
        _fill_profile(zgrid, x0, y0, res, xa[k], ya[k], xb[k], yb[k], n_pts, d, h)
        out[k] = _delta_bullington(d, h, n_pts, htg, hrg, f_ghz, ae_km, vertical)
    return out


class TerrainHook:
    """Terrain and clutter of one study area for one sector table:
    ``hook(px, py, pixel_index, sector_idx) -> (loss_db, nlos, dz_m)``.

    Parameters
    ----------
    area : StudyArea with ``terrain`` (:class:`qamtu.geo.dem.Terrain`) and ``ground_m``, and/or ``clutter``
        (terminals in clutter, from a land-cover raster).
    sectors : qamtu.engine.links.Sectors
    config : EngineConfig (``freq_hz``, ``ue_height_m``, ``environments``).
    ae_m : float
        Effective earth radius (k = 4/3 by default).

    The clutter loss is added only for pixels whose environment class uses the RMa scenario (the TR 38.901 UMa and
    UMi models already hold an urban terminal's clutter).
    """

    def __init__(self, area, sectors, config, *, ae_m: float = DEFAULT_AE_M, step_m: float | None = None,
                 max_points: int = MAX_PROFILE_POINTS):
        from qamtu.engine.config import ENV_CLASSES

        t = getattr(area, "terrain", None)
        self.has_terrain = t is not None
        if t is not None:
            self.zgrid = np.ascontiguousarray(t.height_m, dtype=np.float64)
            self.x0, self.y0, self.res = float(t.transform.c), float(t.transform.f), float(t.transform.a)
            self.ground = np.ascontiguousarray(np.asarray(area.ground_m, dtype=float).ravel())
        else:
            self.zgrid = np.zeros((2, 2))
            self.x0, self.y0, self.res = 0.0, 0.0, 1.0
            self.ground = np.zeros(int(np.prod(area.shape)))
        self.step_m = float(step_m or self.res)
        self.max_points = int(max_points)
        self.s_x = np.ascontiguousarray(sectors.x_m, dtype=float)
        self.s_y = np.ascontiguousarray(sectors.y_m, dtype=float)
        self.s_h = np.ascontiguousarray(sectors.height_m, dtype=float)
        self.s_z = (np.asarray(t.height_at(self.s_x, self.s_y), dtype=float) if t is not None
                    else np.zeros(len(self.s_x)))
        clutter = getattr(area, "clutter", None)
        if clutter is not None:
            rma = np.array([config.environments[name].scenario == "rma" for name in ENV_CLASSES])
            self.clutter = np.ascontiguousarray((np.asarray(clutter, dtype=bool)
                                                 & rma[np.asarray(area.env_class, dtype=np.int64)]).ravel())
        else:
            self.clutter = np.zeros(int(np.prod(area.shape)), dtype=np.bool_)
        self.h_ut = float(config.ue_height_m)
        self.f_ghz = float(config.freq_hz) / 1e9
        self.ae_km = float(ae_m) / 1000.0

    @staticmethod
    def needed(area) -> bool:
        """Whether an area has terrain or clutter for the hook to add."""
        return getattr(area, "terrain", None) is not None or getattr(area, "clutter", None) is not None

    def ground_only(self, pixel_index, sector_idx):
        """(zero loss, no forced NLOS, dz_m): the links' geometry over real ground without profiles."""
        dz = self.s_z[np.asarray(sector_idx, dtype=np.int64)] - self.ground[np.asarray(pixel_index, dtype=np.int64)]
        return np.zeros(dz.shape[0]), np.zeros(dz.shape[0], dtype=np.bool_), np.ascontiguousarray(dz)

    def evaluate(self, batch_of, px, py, pixel_index, sector_idx):
        """Evaluate a tile's links with terrain, profiles only for the links that are stored.

        ``batch_of(sel, terrain)`` evaluates the links ``sel`` (all when None) with per-link terrain. First every
        link is evaluated over real ground (``dz_m``, no diffraction or clutter loss); the links it keeps (the
        relevance rule of :mod:`qamtu.engine.links`) get their profile, diffraction and clutter loss and are
        evaluated again. Those losses only lower a link, so no link outside the first kept set could be stored;
        a link the second pass drops goes to the residual with its terrain loss. The links never stored (weak
        interferers summed into the pixel's residual) keep the first pass's power: their interference is
        over-estimated by at most their terrain loss, a conservative error on a sum already below the floor.

        With one relevance rule per RSRP threshold (``keep`` of shape (n, T), :func:`qamtu.engine.links.
        compute_links_many`) the second pass runs once, on the links any threshold keeps, and the result is a
        list of T batches: in the t-th, the links threshold t keeps in the first pass have the second pass's
        values and the others the first pass's, as with threshold t alone (links are evaluated one by one).
        """
        import dataclasses

        pix = np.asarray(pixel_index, dtype=np.int64)
        sec = np.asarray(sector_idx, dtype=np.int64)
        batch = batch_of(None, self.ground_only(pix, sec))
        keep = batch.keep.reshape(pix.size, -1)
        sel = np.flatnonzero(keep.any(axis=1))
        sub = batch_of(sel, self(px[sel], py[sel], pix[sel], sec[sel])) if sel.size else None
        names = [f.name for f in dataclasses.fields(batch) if getattr(batch, f.name) is not None]
        if batch.keep.ndim == 1:
            if sub is not None:
                for name in names:
                    getattr(batch, name)[sel] = getattr(sub, name)
            return batch
        out = []
        for t in range(keep.shape[1]):
            mine = keep[sel, t]
            own = dataclasses.replace(batch, **{name: getattr(batch, name).copy() for name in names})
            if sub is not None:
                for name in names:
                    getattr(own, name)[sel[mine]] = getattr(sub, name)[mine]
            out.append(own)
        return out

    def __call__(self, px, py, pixel_index, sector_idx):
        pix = np.asarray(pixel_index, dtype=np.int64)
        return terrain_kernel(
            np.ascontiguousarray(px, dtype=float), np.ascontiguousarray(py, dtype=float), self.ground[pix],
            self.clutter[pix], np.ascontiguousarray(sector_idx, dtype=np.int64),
            self.s_x, self.s_y, self.s_z, self.s_h, self.h_ut, self.zgrid, self.x0, self.y0, self.res,
            self.step_m, self.max_points, self.f_ghz, self.ae_km, False, self.has_terrain,
        )
