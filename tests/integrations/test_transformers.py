"""NeptuneCallback with the real transformers Trainer: a tiny randomly initialised BERT, no hub access."""

from __future__ import annotations

import os

import pytest

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from integration_helpers import PROJECT, fileset_names, series  # noqa: E402

import neptune_sync  # noqa: E402
from neptune_sync.integrations import transformers as npt_hf  # noqa: E402

SAMPLES, BATCH, EPOCHS = 8, 4, 2
STEPS = SAMPLES // BATCH * EPOCHS


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("NEPTUNE_PROJECT", PROJECT)
    monkeypatch.setenv("NEPTUNE_MODE", "offline")
    monkeypatch.chdir(tmp_path)  # output_dir "out" is relative, as in most training scripts


def tiny_model():
    config = transformers.BertConfig(
        vocab_size=32,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=16,
        num_labels=2,
    )
    torch.manual_seed(0)
    return transformers.BertForSequenceClassification(config)


def dataset(seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 32, (SAMPLES, 6), generator=g)
    labels = torch.randint(0, 2, (SAMPLES,), generator=g)
    return [
        {"input_ids": i, "attention_mask": torch.ones(6, dtype=torch.long), "labels": y}
        for i, y in zip(ids, labels, strict=True)
    ]


def trainer(callbacks, report_to="none", **args):
    targs = transformers.TrainingArguments(
        output_dir="out",
        num_train_epochs=EPOCHS,
        per_device_train_batch_size=BATCH,
        per_device_eval_batch_size=BATCH,
        logging_steps=1,
        eval_strategy="epoch",
        save_strategy="epoch",
        report_to=report_to,
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
        **args,
    )
    return transformers.Trainer(
        model=tiny_model(), args=targs, train_dataset=dataset(0), eval_dataset=dataset(1), callbacks=callbacks
    )


def test_training_logs_parameters_metrics_and_every_checkpoint():
    callback = npt_hf.NeptuneCallback(name="tiny", tags=["hf"], log_checkpoints="same")
    t = trainer([callback])
    t.train()
    run = npt_hf.NeptuneCallback.get_run(t)  # training ended: the run is reopened by id
    assert run["sys/name"].fetch() == "tiny" and run["sys/tags"].fetch() == {"hf"}
    ns = "finetuning"
    assert run[f"{ns}/trainer_parameters/num_train_epochs"].fetch() == EPOCHS
    assert run[f"{ns}/trainer_parameters/output_dir"].fetch() == "out"
    assert run[f"{ns}/model_parameters/hidden_size"].fetch() == 8
    assert run[f"{ns}/model_parameters/model_type"].fetch() == "bert"
    assert run[f"{ns}/model_parameters/architectures"].fetch() == "None"  # stringified, as 1.x
    assert run["source_code/integrations/transformers"].fetch() == transformers.__version__
    losses = series(run, f"{ns}/train/loss")
    logged = [h for h in t.state.log_history if "loss" in h]
    assert losses == [(float(h["step"]), pytest.approx(h["loss"])) for h in logged]
    evals = [h for h in t.state.log_history if "eval_loss" in h]
    assert series(run, f"{ns}/eval/loss") == [
        (float(h["step"]), pytest.approx(h["eval_loss"])) for h in evals
    ]
    assert run[f"{ns}/train/epoch"].fetch() == pytest.approx(t.state.log_history[-1]["epoch"])
    structure = run.get_structure()[ns]
    assert structure["checkpoints"] == "fileSet"
    got = fileset_names(run, f"{ns}/checkpoints", os.path.abspath("dl"))
    on_disk = {
        os.path.join(d, f)
        for step in (STEPS // 2, STEPS)
        for d, _, fs in os.walk(f"out/checkpoint-{step}")
        for f in fs
    }
    assert got == on_disk
    run.stop()


def test_last_mode_keeps_only_the_newest_checkpoint():
    callback = npt_hf.NeptuneCallback(log_checkpoints="last", base_namespace="ft")
    t = trainer([callback])
    t.train()
    run = callback.run
    got = {name.split("/")[1] for name in fileset_names(run, "ft/checkpoints/last", os.path.abspath("dl"))}
    assert got == {f"checkpoint-{STEPS}"}
    run.stop()


def test_an_existing_run_is_used_and_a_second_training_gets_a_new_run():
    mine = neptune_sync.init_run(project=PROJECT, mode="offline")
    callback = npt_hf.NeptuneCallback(run=mine, log_parameters=False)
    t = trainer([callback])
    t.train()
    assert len(series(mine, "finetuning/train/loss")) == STEPS
    assert not mine.exists("finetuning/trainer_parameters")
    with pytest.raises(neptune_sync.exceptions.InactiveRunError):
        mine["x"] = 1  # the callback stops the run at the end of training, as transformers' did
    t.train()
    assert callback.run["sys/id"].fetch() != mine["sys/id"].fetch()
    callback.run.stop()


def test_report_to_neptune_uses_this_callback_once_registered(monkeypatch):
    from transformers.integrations import integration_utils

    monkeypatch.setitem(
        integration_utils.INTEGRATION_TO_CALLBACK,
        "neptune",
        integration_utils.INTEGRATION_TO_CALLBACK["neptune"],
    )
    npt_hf.register_report_to()
    t = trainer([], report_to="neptune")
    ours = [c for c in t.callback_handler.callbacks if isinstance(c, npt_hf.NeptuneCallback)]
    assert len(ours) == 1
    t.train()
    assert len(series(ours[0].run, "finetuning/train/loss")) == STEPS
    ours[0].run.stop()


def test_best_mode_needs_load_best_model_at_end():
    with pytest.raises(ValueError, match="load_best_model_at_end"):
        trainer([npt_hf.NeptuneCallback(log_checkpoints="best")])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"log_checkpoints": "all"}, ValueError),
        ({"base_namespace": 1}, TypeError),
        ({"run": "RUN-1"}, TypeError),
    ],
)
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        npt_hf.NeptuneCallback(**kwargs)


def test_report_to_neptune_with_transformers_own_callback_over_the_compat_package():
    pytest.importorskip("neptune", reason="the neptune compat package is not installed")
    from transformers.integrations import integration_utils

    assert integration_utils.is_neptune_available()  # find_spec("neptune") finds the compat package
    t = trainer([], report_to="neptune")
    builtin = [c for c in t.callback_handler.callbacks if isinstance(c, integration_utils.NeptuneCallback)]
    assert len(builtin) == 1
    t.train()
    run = integration_utils.NeptuneCallback.get_run(t)
    assert len(series(run, "finetuning/train/loss")) == STEPS
    assert run["finetuning/trainer_parameters/num_train_epochs"].fetch() == EPOCHS
    run.stop()
