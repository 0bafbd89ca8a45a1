"""mcbias-23: per (serving site, level) conditional P(DL) of one pixel, exact (sampled) vs the kernel's
Fenton-Wilkinson log-normal of the conditioned interference, and variants (the strongest interfering site exact,
or split into level bins). An independent NumPy re-implementation of the model of qamtu.engine.distribution
(per site: strongest sector's LOS/NLOS mixture, a_int / c_int / t as _group_sites builds them).

Usage, from the repository root:
  PYTHONPATH=$PWD/src:$PWD/tests/engine python benchmarks/mcbias_23/conditional_fw.py SEED PIXEL_INDEX [CFG_KW]
e.g. ``1 437`` (seed 1 of test_distribution's _random_case, 437th mask pixel), ``1 437 '{"interference_beams":
"uniform"}'``. See docs/notes/mcbias-23.md."""
import dataclasses
import json
import sys
import numpy as np
from scipy.stats import norm
from test_distribution import _random_case, CFG
from qamtu.engine import aggregate, compute_links
from qamtu.engine.links import noise_per_re_dbm
seed, idx = int(sys.argv[1]), int(sys.argv[2])
kw = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
area, sites, rng0 = _random_case(seed)
links = compute_links(area, sites, dataclasses.replace(CFG, **kw))
cfg = links.config
rows, cols = np.nonzero(area.mask)
rng0.choice(rows.size, 12, replace=False)
r, c = int(rows[idx]), int(cols[idx]); pix = r * area.mask.shape[1] + c; env = int(area.env_class[r, c])
k = np.flatnonzero(links.pixel == pix)
sid = np.asarray(links.sectors.site_id)[links.sector[k]]
load = cfg.criterion.cell_load; ao = cfg.always_on_re_share
g = 10 ** (cfg.criterion.min_dl_sinr_db(cfg) / 10); N = 10 ** (noise_per_re_dbm(cfg) / 10)
from qamtu.engine.config import ENV_CLASSES
bf = cfg.environments[ENV_CLASSES[env]].beamforming_loss_db
cos = links.cosited_weak_mw[k] if links.cosited_weak_mw is not None else 0 * k
S = []
for s in np.unique(sid):
    m = sid == s; kk = k[m]; kb = kk[np.argmax(links.rsrp_dbm[kk])]
    rb = links.rsrp_dbm[kb]
    ai = np.sum((links.interference_mw[kk] + cos[m]) * 10 ** (-rb / 10))
    off = 0 if links.ssb_offset_db is None else links.ssb_offset_db[kk]
    ass = np.sum(10 ** ((links.rsrp_dbm[kk] + off - rb) / 10))
    ci = ai - links.interference_mw[kb] * 10 ** (-rb / 10)
    offb = 0 if links.ssb_offset_db is None else links.ssb_offset_db[kb]
    cs = max(ass - 10 ** (offb / 10), 0)
    p = float(links.p_los[kb]); d = float(links.los_gain_db[kb])
    mn = rb - 10 * np.log10(p * 10 ** (d / 10) + 1 - p)
    S.append(dict(s=s, p=p, ml=mn + d, mn=mn, sl=float(links.sf_los_db[kb]), sn=float(links.sf_nlos_db[kb]),
                  a=load * ai + ao * ass, cc=load * ci + ao * cs, t=10 ** ((links.signal_dbm[kb] - bf - rb) / 10)))
rng = np.random.default_rng(3)
NS = 400000
samp = []
for q in S:
    los = rng.random(NS) < q["p"]; z = rng.standard_normal(NS)
    samp.append(np.sort(np.where(los, q["ml"] + q["sl"] * z, q["mn"] + q["sn"] * z)))
def pdf(q, y): return q["p"] * norm.pdf(y, q["ml"], q["sl"]) + (1 - q["p"]) * norm.pdf(y, q["mn"], q["sn"])
def cdf(q, y): return q["p"] * norm.cdf(y, q["ml"], q["sl"]) + (1 - q["p"]) * norm.cdf(y, q["mn"], q["sn"])
ys = np.arange(-140, -50, 0.25)
BIN = {}; tot_w = 0; tot_ex = 0; tot_fw = 0; tot_hy = 0
rows_out = []
for q in S: print(q["s"], "p %.2f m_n %.1f a_int %.3f c_int %.3f t %.3f" % (q["p"], q["mn"], q["a"], q["cc"], q["t"]))
for j, q in enumerate(S):
    wj_ex = 0; wj_fw = 0; wj = 0; wj_hy = 0
    for y in ys:
        w = pdf(q, y) * np.prod([cdf(o, y) for l, o in enumerate(S) if l != j]) * 0.25
        if w < 1e-7:
            continue
        # other sites conditioned below y: draw from each sorted sample below y
        I = np.zeros(20000); Imax = np.zeros(20000)
        for l, o in enumerate(S):
            if l == j: continue
            n_below = np.searchsorted(samp[l], y)
            if n_below == 0: continue
            v = samp[l][rng.integers(0, n_below, 20000)]
            I += o["a"] * 10 ** (v / 10); Ii = o["a"] * 10 ** (v / 10)
            if Ii.mean() > Imax.mean(): Imax = Ii; amax = o["a"]
        x = 10 ** (y / 10)
        room = x * (q["t"] - g * q["cc"])
        thr = room / g - N   # need I <= thr
        p_ex = np.mean(I <= thr)
        m, var = I.mean(), I.var()
        if thr <= 0: p_fw = 0.0
        elif m <= 0: p_fw = 1.0
        else:
            s2 = np.log1p(var / m ** 2); mu = np.log(m) - s2 / 2
            p_fw = norm.cdf((np.log(thr) - mu) / np.sqrt(s2))
        rest = I - Imax; mr, vr = rest.mean(), rest.var()
        room_r = thr - Imax
        if mr <= 0: p_hy = np.mean(room_r >= 0)
        else:
            s2r = np.log1p(vr / mr ** 2); mur = np.log(mr) - s2r / 2
            p_hy = np.mean(np.where(room_r > 0, norm.cdf((np.log(np.maximum(room_r, 1e-300)) - mur) / np.sqrt(s2r)), 0.0))
        for nb in (2, 3, 4, "q0.6", "q0.7", "q0.8", "q0.9"):
            if isinstance(nb, str) and nb[0] == "q":
                cut = (Imax >= np.quantile(Imax, float(nb[1:]))).astype(int); pb = 0.0; nbb = 2
            elif isinstance(nb, str):
                cut = (Imax >= amax * 10 ** ((y - float(nb[1:])) / 10)).astype(int); pb = 0.0; nbb = 2
            else:
                qs = np.quantile(Imax, np.linspace(0, 1, nb + 1)); pb = 0.0; nbb = nb
                cut = np.searchsorted(qs[1:-1], Imax, side="right")
            for bb in range(nbb):
                sel = cut == bb
                if not sel.any(): continue
                Ib = rest[sel] + Imax[sel]
                mb, vb = rest.mean() + Imax[sel].mean(), rest.var() + Imax[sel].var()
                if thr <= 0: pbb = 0.0
                else:
                    s2b = np.log1p(vb / mb ** 2); mub = np.log(mb) - s2b / 2
                    pbb = norm.cdf((np.log(thr) - mub) / np.sqrt(s2b))
                pb += sel.mean() * pbb
            BIN[nb] = BIN.get(nb, 0) + w * pb
        wj += w; wj_ex += w * p_ex; wj_fw += w * p_fw; wj_hy += w * p_hy
        if j == 0 or w > 0.01:
            rows_out.append((q["s"], y, w, p_ex, p_fw, Imax.mean() / m if m > 0 else 0))
    print(q["s"], "P(serves) %.4f  P(DL, serves) exact %.4f FW %.4f" % (wj, wj_ex, wj_fw))
    tot_w += wj; tot_ex += wj_ex; tot_fw += wj_fw; tot_hy += wj_hy
print("dominant site split into equal-probability level bins, each FW with the rest:", {k: round(v / tot_w, 4) for k, v in BIN.items()})
print("strongest interfering site exact, rest FW: P(DL) %.4f" % (tot_hy / tot_w))
print("sum weight %.4f P(DL) exact %.4f FW %.4f (normalised %.4f %.4f)" % (tot_w, tot_ex, tot_fw, tot_ex / tot_w, tot_fw / tot_w))
for row in rows_out:
    if row[2] > 0.004 and abs(row[1] % 1) < 1e-9: print("%s y %.2f w %.4f exact %.3f FW %.3f top-site share of mean %.2f" % row)
