"""The demand forecast's LSTM challenger (the seeds name one): a global sequence-to-horizon model in
PyTorch on CPU, evaluated in the same rolling-origin backtest as the gradient-boosted trees.

torch is an optional extra (`make lstm`; pyproject's `lstm` extra): it is imported only inside the
functions that fit or run the network, so nothing else in the project needs it, and a fitted
`LSTMModel` unpickles without it (the weights are kept as numpy arrays).

Inputs: the same collected feature frame the GBT uses (features.FeatureSet.frame / evaluate.FoldData:
one row per product x region x day, `quantity` known up to the cutoff C, the known-at-C calendar,
holiday, promotion, weather, product-level and last-year features on every row up to C + horizon).
Nothing the frame holds after C but those known features is read: quantities after C are never
looked at (neither by `fit`, which drops every row after C first, nor by `forecast`).

The network, for one series at an origin t (the last day whose units are known):
  encoder  an LSTM over the `lookback` days t - lookback + 1 .. t; each step sees the day's units
           divided by the series' scale (its mean units over the lookback window + 0.1) and the
           day's known features (weekday one-hot, weekend / day off / holiday / adjusted workday,
           days to and after a holiday, promotion depths, log last-year ratio, region weather, the
           product's level over all regions) and the series' static inputs (learned embeddings of
           region and category_l2, log1p of the scale);
  decoder  an LSTM started from the encoder's state over the `horizon` days t + 1 .. t + horizon,
           each step seeing only that day's known features and the static inputs (no fed-back
           forecast, so an early error does not feed later days);
  output   softplus(linear(decoder state)) x scale: the expected units of each horizon day.
Loss: Poisson deviance on the units (the same objective as the GBT's Poisson loss: forecasts are
means, never negative, and volume-weighted like WAPE).

Training samples: every series x origin of the training window whose whole target window lies on or
before C (days before a series' first sale count as zero units). One model for all series (global):
about 1,200 series of a few units a day have too little history each for a model per series.
Early stopping: the last `val_origins` origins (their targets are the last days before C) are held
out; training uses only origins whose targets end before the first held-out target day, and the
weights of the epoch with the lowest held-out loss are kept. Then (`refit_all`) the network is
trained again from the same seed on every origin for that many epochs, so the most recent weeks are
learned too. Nothing of the backtest's test window is ever seen.

Deterministic: torch.manual_seed, torch.use_deterministic_algorithms(True), 1 thread (at most 2), a seeded
numpy generator for the sampling order (the global torch settings are restored afterwards).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from models.demand import features as feat

FORECAST = "forecast_qty"  # = forecast.FORECAST (not imported: forecast imports pyspark)
SCALE_FLOOR = 0.1  # added to a series' lookback mean: the scale of a series that sold nothing lately
BINARY = ("is_weekend", "is_off_day", "is_holiday", "is_adjusted_workday", "has_last_year")
CONTINUOUS = ("days_to_holiday", "days_after_holiday", "promo_depth", "promo_all_depth", "ly_ratio",
              "temp_high_last", "temp_high_7d", "precip_7d", "product_mean_28")
STATIC = ("region", "category_l2")
FRAME_COLUMNS = ("date", feat.LABEL, "iso_weekday", *BINARY, *CONTINUOUS, *STATIC)


@dataclass(frozen=True)
class LSTMParams:
    lookback: int = 28
    horizon: int = 14
    hidden: int = 32
    embedding: int = 4
    epochs: int = 30
    patience: int = 4
    learning_rate: float = 0.003
    batch_size: int = 256
    samples_per_epoch: int = 8192  # series x origins drawn (without replacement) per epoch; 0: all
    val_origins: int = 7
    refit_all: bool = True
    threads: int = 1  # see _torch_settings
    seed: int = 42

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict, prefix: str = "") -> "LSTMParams":
        """From a flat dict; with `prefix`, only keys `prefix + field` (e.g. lstm_hidden)."""
        known = set(cls.__dataclass_fields__)
        out = {}
        for key, value in params.items():
            name = key[len(prefix):] if prefix and key.startswith(prefix) else (None if prefix else key)
            if name in known:
                out[name] = value
        return cls(**out)


@contextlib.contextmanager
def _torch_settings(seed: int, threads: int = 1):
    """Deterministic CPU torch with `threads` intra-op threads (at most 2: the machine's cores); the
    previous global settings are put back after. One thread is the default: the batches are small
    (256 x 42 steps x 32 units), and on the shared 2-core machine under load one training step took
    0.07 s with one thread and 1.5 s with two (the threads wait on each other)."""
    import torch

    previous, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(max(1, min(int(threads), 2)))
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    try:
        yield torch
    finally:
        torch.set_num_threads(previous)
        torch.use_deterministic_algorithms(deterministic)


# --- the frame as dense per-series arrays --------------------------------------------------------

@dataclass
class Grid:
    """Series x day arrays of one frame: `units` (NaN where unknown), `steps` (the known per-day
    features, normalised), `region` / `category` codes per series, `dates` (one per column)."""

    series: pd.DataFrame  # keys, region, category_l2 per row of the arrays
    dates: list
    units: np.ndarray  # [series, day]
    steps: np.ndarray  # [series, day, step feature]
    region: np.ndarray  # [series] int
    category: np.ndarray  # [series] int


def _codes(values: pd.Series, levels: list[str]) -> np.ndarray:
    """Index of each value in levels + 1 (0: a level not seen in training)."""
    lookup = {level: i + 1 for i, level in enumerate(levels)}
    return values.astype("string").map(lookup).fillna(0).astype("int64").to_numpy()


def _raw_steps(frame: pd.DataFrame) -> pd.DataFrame:
    """The per-day inputs before normalisation (one row per frame row)."""
    out = pd.DataFrame(index=frame.index)
    weekday = pd.to_numeric(frame["iso_weekday"], errors="coerce").fillna(1).astype(int)
    for d in range(1, 8):
        out[f"wd{d}"] = (weekday == d).astype("float64")
    for c in BINARY:
        out[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64").fillna(0.0) if c in frame else 0.0
    for c in CONTINUOUS:
        out[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64") if c in frame else np.nan
    out["ly_ratio"] = np.log(out["ly_ratio"].clip(lower=1e-3).fillna(1.0))
    out["product_mean_28"] = np.log1p(out["product_mean_28"].clip(lower=0.0))
    return out


def grid_of(frame: pd.DataFrame, keys: list[str], last: dt.date, norm: dict | None,
            levels: dict[str, list[str]]) -> tuple[Grid, dict]:
    """The frame's rows dated up to `last` as dense arrays (a series' days before its first row get
    zero units and the features of its first row, the weekday of their own date). `norm`: per
    continuous feature (mean, sd); None: computed from these rows (returned)."""
    rows = frame[frame["date"] <= last]
    columns = list(dict.fromkeys([*keys, *STATIC]))
    series = rows[columns].drop_duplicates(keys).sort_values(keys, kind="mergesort").reset_index(drop=True)
    first = rows["date"].min()
    dates = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    s_index = pd.MultiIndex.from_frame(series[keys])
    si = s_index.get_indexer(pd.MultiIndex.from_frame(rows[keys]))
    di = np.array([(d - first).days for d in rows["date"]], dtype=np.int64)
    raw = _raw_steps(rows)
    if norm is None:
        norm = {c: (float(np.nanmean(raw[c])) if raw[c].notna().any() else 0.0,
                    float(np.nanstd(raw[c])) if raw[c].notna().sum() > 1 else 1.0) for c in CONTINUOUS}
    for c in CONTINUOUS:
        mean, sd = norm[c]
        raw[c] = ((raw[c] - mean) / (sd if sd > 1e-9 else 1.0)).fillna(0.0)
    n_s, n_d, n_f = len(series), len(dates), raw.shape[1]
    steps = np.full((n_s, n_d, n_f), np.nan, dtype=np.float32)
    steps[si, di] = raw.to_numpy(dtype=np.float32)
    units = np.full((n_s, n_d), np.nan, dtype=np.float32)
    units[si, di] = rows[feat.LABEL].to_numpy(dtype="float64", na_value=np.nan)
    # days before a series' first row: zero units, the first row's features, their own weekday
    first_col = np.full(n_s, n_d, dtype=np.int64)
    np.minimum.at(first_col, si, di)
    before = np.arange(n_d)[None, :] < first_col[:, None]
    units[before & np.isnan(units)] = 0.0
    fill = steps[np.arange(n_s), np.minimum(first_col, n_d - 1)]  # [series, feature]
    steps = np.where(before[:, :, None], fill[:, None, :], steps)
    weekday = np.array([d.isoweekday() for d in dates])
    steps[:, :, :7] = (weekday[None, :, None] == np.arange(1, 8)[None, None, :])
    steps = np.nan_to_num(steps, nan=0.0)
    grid = Grid(series=series, dates=dates, units=units, steps=steps.astype(np.float32),
                region=_codes(series["region"], levels["region"]),
                category=_codes(series["category_l2"], levels["category_l2"]))
    return grid, norm


# --- the network -----------------------------------------------------------------------------------

def _network(n_steps: int, n_regions: int, n_categories: int, p: LSTMParams):
    import torch
    from torch import nn

    class Seq2Horizon(nn.Module):
        def __init__(self):
            super().__init__()
            self.region = nn.Embedding(n_regions + 1, p.embedding)
            self.category = nn.Embedding(n_categories + 1, p.embedding * 2)
            static = p.embedding * 3 + 1
            self.encoder = nn.LSTM(n_steps + 1 + static, p.hidden, batch_first=True)
            self.decoder = nn.LSTM(n_steps + static, p.hidden, batch_first=True)
            self.head = nn.Linear(p.hidden, 1)
            with torch.no_grad():
                self.head.bias.fill_(0.5413)  # softplus(0.5413) = 1: start at the series' own scale

        def forward(self, past_units, past_steps, future_steps, region, category, scale):
            static = torch.cat([self.region(region), self.category(category), torch.log1p(scale)[:, None]], 1)
            s_past = static[:, None, :].expand(-1, past_steps.shape[1], -1)
            s_future = static[:, None, :].expand(-1, future_steps.shape[1], -1)
            scaled = (past_units / scale[:, None])[:, :, None]
            _, state = self.encoder(torch.cat([scaled, past_steps, s_past], 2))
            out, _ = self.decoder(torch.cat([future_steps, s_future], 2), state)
            return nn.functional.softplus(self.head(out)[:, :, 0]) * scale[:, None]

    return Seq2Horizon()


def _batch(torch, grid: Grid, s: np.ndarray, t: np.ndarray, lookback: int, horizon: int,
           with_target: bool = True):
    """Tensors of the samples (series s, origin column t)."""
    past = t[:, None] + np.arange(-lookback + 1, 1)[None, :]
    future = t[:, None] + np.arange(1, horizon + 1)[None, :]
    past_units = np.nan_to_num(grid.units[s[:, None], past], nan=0.0)
    scale = past_units.mean(axis=1) + SCALE_FLOOR
    out = [torch.from_numpy(past_units), torch.from_numpy(grid.steps[s[:, None], past]),
           torch.from_numpy(grid.steps[s[:, None], future]), torch.from_numpy(grid.region[s]),
           torch.from_numpy(grid.category[s]), torch.from_numpy(scale.astype(np.float32))]
    if with_target:
        out.append(torch.from_numpy(grid.units[s[:, None], future]))
    return out


def _loss(torch, rate, target):
    return torch.nn.functional.poisson_nll_loss(rate, target, log_input=False, full=False, eps=1e-6)


def _train(torch, grid: Grid, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray] | None,
           epochs: int, p: LSTMParams, n_levels: tuple[int, int]):
    """A network trained on the `train` samples for at most `epochs` epochs; with `val`, the weights
    of the epoch with the lowest held-out loss (early stopping). Returns (net, best epoch, history)."""
    torch.manual_seed(p.seed)
    rng = np.random.default_rng(p.seed)
    net = _network(grid.steps.shape[2], n_levels[0], n_levels[1], p)
    optimizer = torch.optim.Adam(net.parameters(), lr=p.learning_rate)
    s_all, t_all = train
    best, best_epoch, best_state, history, waited = np.inf, 0, None, [], 0
    for epoch in range(1, epochs + 1):
        net.train()
        order = rng.permutation(len(s_all))
        if p.samples_per_epoch and len(order) > p.samples_per_epoch:
            order = order[:p.samples_per_epoch]
        total = 0.0
        for start in range(0, len(order), p.batch_size):
            pick = order[start:start + p.batch_size]
            *inputs, target = _batch(torch, grid, s_all[pick], t_all[pick], p.lookback, p.horizon)
            optimizer.zero_grad()
            loss = _loss(torch, net(*inputs), target)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            total += float(loss.detach()) * len(pick)
        record = {"epoch": epoch, "train_loss": total / max(len(order), 1)}
        if val is not None:
            record["val_loss"] = _evaluate(torch, net, grid, val, p)
            if record["val_loss"] < best - 1e-6:
                best, best_epoch, waited = record["val_loss"], epoch, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                waited += 1
        history.append(record)
        if val is not None and waited >= p.patience:
            break
    if val is not None and best_state is not None:
        net.load_state_dict(best_state)
    return net, (best_epoch if val is not None else epochs), history


def _evaluate(torch, net, grid: Grid, samples: tuple[np.ndarray, np.ndarray], p: LSTMParams) -> float:
    net.eval()
    s_all, t_all = samples
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(s_all), 2048):
            *inputs, target = _batch(torch, grid, s_all[start:start + 2048], t_all[start:start + 2048],
                                     p.lookback, p.horizon)
            total += float(_loss(torch, net(*inputs), target)) * len(target)
    return total / max(len(s_all), 1)


# --- the fitted model ------------------------------------------------------------------------------

@dataclass
class LSTMModel:
    """A fitted LSTM forecaster. `forecast(frame, keys, cutoff, horizon)` gives the units of each
    series of a collected feature frame for C+1 .. C+horizon (the backtest and `score` call it
    instead of the GBT's recursive forecast); `predict(frame)` does the same for a frame whose
    `quantity` is known up to its cutoff and NaN after (the pyfunc entry point). Picklable without
    torch: the weights are numpy arrays."""

    weights: dict[str, np.ndarray]
    norm: dict[str, tuple[float, float]]
    levels: dict[str, list[str]]
    n_steps: int
    params: dict
    feature_spec: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    kind: str = "lstm"

    @property
    def lstm_params(self) -> LSTMParams:
        return LSTMParams.from_params({k: v for k, v in self.params.items() if k != "model"})

    @property
    def columns(self) -> list[str]:
        return [c for c in FRAME_COLUMNS]

    def _net(self, torch):
        p = self.lstm_params
        net = _network(self.n_steps, len(self.levels["region"]), len(self.levels["category_l2"]), p)
        net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.weights.items()})
        net.eval()
        return net

    def forecast(self, frame: pd.DataFrame, keys: list[str], cutoff: dt.date, horizon: int) -> pd.DataFrame:
        """keys, date, horizon_days, forecast_qty for every series of `frame` with a row on or before
        the cutoff, days C+1 .. C+horizon. Reads units up to C only."""
        p = self.lstm_params
        if horizon > p.horizon:
            raise ValueError(f"the LSTM forecasts {p.horizon} days, asked for {horizon}")
        end = cutoff + dt.timedelta(days=p.horizon)
        if frame["date"].max() < cutoff + dt.timedelta(days=horizon):
            raise ValueError(f"horizon {horizon} reaches past the feature frame's last day {frame['date'].max()}")
        known = frame[frame["date"] <= cutoff]
        later = frame[(frame["date"] > cutoff) & (frame["date"] <= end)].copy()
        later[feat.LABEL] = np.nan  # never read the units of days after the cutoff
        window = pd.concat([known[known["date"] > cutoff - dt.timedelta(days=p.lookback)], later],
                           ignore_index=True)
        series_cut = known[keys].drop_duplicates()
        window = window.merge(series_cut, on=keys, how="inner")
        grid, _ = grid_of(window, keys, end, self.norm, self.levels)
        if len(grid.series) == 0:
            return pd.DataFrame(columns=[*keys, "date", "horizon_days", FORECAST])
        # a series whose frame rows stop before C + horizon: pad its future days with zero features
        n_need = p.lookback + p.horizon
        if len(grid.dates) < n_need:  # the frame starts less than `lookback` days before C
            pad = n_need - len(grid.dates)
            grid.units = np.concatenate([np.zeros((len(grid.series), pad), np.float32), grid.units], 1)
            grid.steps = np.concatenate([np.repeat(grid.steps[:, :1], pad, 1), grid.steps], 1)
            grid.dates = [grid.dates[0] - dt.timedelta(days=pad - i) for i in range(pad)] + grid.dates
        t = grid.dates.index(cutoff)
        s = np.arange(len(grid.series))
        with _torch_settings(p.seed, p.threads) as torch:
            net = self._net(torch)
            with torch.no_grad():
                rate = net(*_batch(torch, grid, s, np.full(len(s), t), p.lookback, p.horizon,
                                   with_target=False)).numpy()
        out = grid.series[keys].loc[np.repeat(s, horizon)].reset_index(drop=True)
        k = np.tile(np.arange(1, horizon + 1), len(s))
        out["date"] = [cutoff + dt.timedelta(days=int(i)) for i in k]
        out["horizon_days"] = k
        out[FORECAST] = rate[:, :horizon].reshape(-1).astype("float64")
        return out

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The forecast of a feature frame (keys as in feature_spec, FRAME_COLUMNS) whose units are
        known up to its cutoff (the last day with a `quantity`) and NaN after it."""
        frame = frame.copy()
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
        keys = feat.series_keys(bool(self.feature_spec.get("by_tier", False)))
        cutoff = frame.loc[frame[feat.LABEL].notna(), "date"].max()
        horizon = min((frame["date"].max() - cutoff).days, self.lstm_params.horizon)
        return self.forecast(frame, keys, cutoff, horizon)

    def refit_fold(self, data) -> "LSTMModel":
        """A new model of this configuration fitted on a backtest fold (evaluate.FoldData)."""
        return fit(data.frame, data.keys, data.fold.cutoff, self.lstm_params, self.feature_spec)[0]


def fit(frame: pd.DataFrame, keys: list[str], cutoff: dt.date, params: LSTMParams | None = None,
        feature_spec: dict | None = None) -> tuple[LSTMModel, dict]:
    """Fits the LSTM on the frame's days up to the cutoff (rows after it are dropped first). Returns
    the model and a dict of params and facts (samples, epochs, seconds) for the runner to log."""
    p = params or LSTMParams()
    started = time.perf_counter()
    known = frame[frame["date"] <= cutoff]
    if known.empty:
        raise ValueError(f"no rows on or before the cutoff {cutoff}")
    levels = {c: sorted(known[c].astype("string").dropna().unique().tolist()) for c in STATIC}
    grid, norm = grid_of(known, keys, cutoff, None, levels)
    last = len(grid.dates) - 1 - p.horizon  # the last origin whose targets are all known
    first = p.lookback - 1
    if last < first:
        raise ValueError(f"cutoff {cutoff}: {len(grid.dates)} days of history, the LSTM needs at least "
                         f"{p.lookback + p.horizon}")
    origins = np.arange(first, last + 1)
    n_s = len(grid.series)

    def samples(ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.repeat(np.arange(n_s), len(ts)), np.tile(ts, n_s)

    val_ts = origins[-p.val_origins:] if p.val_origins else origins[:0]
    train_ts = origins[origins <= (val_ts[0] - p.horizon if len(val_ts) else last)]
    if len(val_ts) and len(train_ts) == 0:
        raise ValueError(f"cutoff {cutoff}: too little history to hold out {p.val_origins} origins")
    with _torch_settings(p.seed, p.threads) as torch:
        n_levels = (len(levels["region"]), len(levels["category_l2"]))
        net, best_epoch, history = _train(torch, grid, samples(train_ts), samples(val_ts) if len(val_ts) else None,
                                          p.epochs, p, n_levels)
        epochs = best_epoch
        if p.refit_all and len(val_ts):
            net, _, history_all = _train(torch, grid, samples(origins), None, max(best_epoch, 1), p, n_levels)
            history = history + [{**h, "refit": True} for h in history_all]
        weights = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    seconds = time.perf_counter() - started
    model = LSTMModel(weights=weights, norm=norm, levels=levels, n_steps=int(grid.steps.shape[2]),
                      params={"model": "lstm", **p.as_dict()}, feature_spec=dict(feature_spec or {}))
    info = {"params": model.params, "train_rows": int(n_s * len(origins)), "train_series": int(n_s),
            "epochs": int(epochs), "history": history, "train_seconds": round(seconds, 2)}
    model.info = {k: v for k, v in info.items() if k != "history"}
    return model, info
