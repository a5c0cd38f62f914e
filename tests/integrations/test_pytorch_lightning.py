"""NeptuneLogger with the real Lightning Trainer: a Linear model trained 2 epochs on random tensors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.filterwarnings("ignore::UserWarning"),  # Lightning's advice (workers, logging interval)
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),  # torch vs. Lightning deprecations
]

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

from integration_helpers import PROJECT, series  # noqa: E402

import neptune_sync  # noqa: E402
from neptune_sync.integrations.pytorch_lightning import NeptuneLogger  # noqa: E402

BATCHES = 4  # per epoch


class Regressor(pl.LightningModule):
    def __init__(self, lr: float = 0.05, hidden: dict | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(3, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=False)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def loader(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCHES * 8, 3, generator=g)
    data = torch.utils.data.TensorDataset(x, x.sum(dim=1, keepdim=True))
    return torch.utils.data.DataLoader(data, batch_size=8)


def fit(logger, tmp_path, **trainer_kw):
    checkpoint = pl.callbacks.ModelCheckpoint(monitor="val_loss", save_top_k=1, save_last=True)
    trainer = pl.Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=logger,
        callbacks=[checkpoint],
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        **trainer_kw,
    )
    model = Regressor(hidden={"units": 4, "act": torch.nn.ReLU})
    trainer.fit(model, loader(0), loader(1))
    return trainer, model, checkpoint


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the logger's save_dir is ./.neptune, as Lightning's was


def test_training_logs_metrics_hyperparams_checkpoints_and_status(tmp_path):
    logger = NeptuneLogger(project=PROJECT, name="lin", mode="offline", tags=["pl"])
    trainer, model, ckpt = fit(logger, tmp_path)
    run = logger.experiment
    assert isinstance(run, neptune_sync.Run)
    assert logger.version == run["sys/id"].fetch() and logger.name == "lin" == run["sys/name"].fetch()
    assert run["sys/tags"].fetch() == {"pl"}
    # every optimizer step logged train_loss at that step; 2 epochs of BATCHES
    steps = [s for s, _ in series(run, "training/train_loss")]
    assert steps == [float(i) for i in range(2 * BATCHES)]
    assert len(series(run, "training/val_loss")) == 2
    assert {v for _, v in series(run, "training/epoch")} == {0.0, 1.0}
    assert run["training/hyperparams"].fetch() == {
        "lr": 0.05,
        "hidden": {"units": 4, "act": str(torch.nn.ReLU)},
    }
    assert run["training/status"].fetch() == "success"  # what current Lightning passes to finalize()
    assert run["source_code/integrations/pytorch-lightning"].fetch() == pl.__version__
    # checkpoints: the uploaded bytes are the files on disk; names relative to dirpath
    names = set(run.get_structure()["training"]["model"]["checkpoints"])
    best_name = ckpt.best_model_path.rsplit("/", 1)[1].removesuffix(".ckpt")
    assert names == {"last", best_name}
    assert ckpt.dirpath.startswith(str(tmp_path / ".neptune" / "lin" / logger.version))
    for name, path in (("last", ckpt.last_model_path), (best_name, ckpt.best_model_path)):
        out = run[f"training/model/checkpoints/{name}"].download(str(tmp_path / "dl" / name))
        assert out.read_bytes() == Path(path).read_bytes()
    assert run["training/model/best_model_path"].fetch() == ckpt.best_model_path
    assert run["training/model/best_model_score"].fetch() == pytest.approx(ckpt.best_model_score.item())
    run.stop()


def test_log_model_summary_uploads_the_lightning_summary(tmp_path):
    run = neptune_sync.init_run(project=PROJECT, mode="offline")
    logger = NeptuneLogger(run=run, prefix="")
    model = Regressor()
    logger.log_model_summary(model, max_depth=-1)
    text = run["model/summary"].download(str(tmp_path / "summary.txt")).read_text()
    assert text == str(pl.utilities.model_summary.ModelSummary(model, max_depth=-1))
    assert "layer" in text and "Linear" in text
    run.stop()


def test_a_namespace_handler_logs_under_it_and_checkpoints_are_pruned_there(tmp_path):
    run = neptune_sync.init_run(project=PROJECT, mode="offline", name="outer")
    logger = NeptuneLogger(run=run["fold_0"])
    assert logger.name == "outer" and logger.version == run["sys/id"].fetch()
    _, _, ckpt = fit(logger, tmp_path)
    structure = run.get_structure()
    assert "training" not in structure
    names = set(structure["fold_0"]["training"]["model"]["checkpoints"])
    assert names == {"last", ckpt.best_model_path.rsplit("/", 1)[1].removesuffix(".ckpt")}
    assert len(series(run, "fold_0/training/train_loss")) == 2 * BATCHES
    assert run["source_code/integrations/pytorch-lightning"].fetch() == pl.__version__
    run.stop()


def test_log_metrics_and_hyperparams_called_directly(tmp_path):
    logger = NeptuneLogger(project=PROJECT, mode="offline", prefix="exp")
    logger.log_metrics({"acc": torch.tensor(0.25), "n": 3}, step=7)
    logger.log_hyperparams({"opt": "sgd", "fn": len, "sched": None})
    run = logger.experiment
    assert series(run, "exp/acc") == [(7.0, 0.25)]
    assert series(run, "exp/n") == [(7.0, 3.0)]
    assert run["exp/hyperparams"].fetch() == {"opt": "sgd", "fn": "len", "sched": "None"}
    run.stop()


def test_checkpoints_off_uploads_none(tmp_path):
    logger = NeptuneLogger(project=PROJECT, mode="offline", log_model_checkpoints=False)
    fit(logger, tmp_path)
    assert not logger.experiment.exists("training/model/checkpoints")
    logger.experiment.stop()


def test_pickled_logger_reopens_the_same_run(tmp_path):
    logger = NeptuneLogger(project=PROJECT, mode="offline")
    first = logger.experiment
    first["a"] = 1
    first.stop()
    clone = pickle.loads(pickle.dumps(logger))
    assert clone.experiment["sys/id"].fetch() == logger.version
    assert clone.experiment["a"].fetch() == 1
    clone.experiment.stop()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"run": "RUN-1"},
        {"project": "a/b", "run": "run"},
        {"name": "x", "run": "run"},
        {"tags": ["t"], "run": "run"},
    ],
)
def test_bad_arguments_raise_value_error(kwargs):
    if kwargs.get("run") == "run":
        kwargs = {**kwargs, "run": neptune_sync.init_run(project=PROJECT, mode="debug")}
    with pytest.raises(ValueError, match="run"):
        NeptuneLogger(**kwargs)


def test_the_standalone_pytorch_lightning_trainer_takes_the_logger_too(tmp_path):
    ptl = pytest.importorskip("pytorch_lightning")

    class Tiny(ptl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(3, 1)

        def training_step(self, batch, batch_idx):
            loss = torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])
            self.log("loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    logger = NeptuneLogger(project=PROJECT, mode="offline")
    trainer = ptl.Trainer(
        max_epochs=1,
        logger=logger,
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_checkpointing=False,
    )
    trainer.fit(Tiny(), loader(0))
    assert [s for s, _ in series(logger.experiment, "training/loss")] == [float(i) for i in range(BATCHES)]
    logger.experiment.stop()
