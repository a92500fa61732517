"""What each kind of job needs before it is queued: its request checked against the
domain's own rules (run spec, explanation orders, labels to explain, training targets) and its
input files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from services.api.auth import Caller
from services.api.domain.datasets import DatasetService, instances_jsonl, parse_instances
from services.api.domain.jobs import JobService
from services.api.domain.request_parts import (
    checked_rows,
    distributions_file,
    llm_fields,
    request_labels,
    same_labels,
    same_length,
)
from services.api.domain.tasks import TaskService
from services.api.schemas import (
    DistributionsRef,
    ExplanationJobIn,
    JobView,
    MetricsJobIn,
    MjdJobIn,
    TrainingJobIn,
    spec_of,
)
from shared.contracts import JobKind
from shared.contracts.specs import (
    DataRef,
    ExplanationJobSpec,
    MetricsJobSpec,
    MjdJobSpec,
    TrainingJobSpec,
)
from shared.endpoints import OpenAIEndpoint
from shared.errors import DataError
from shared.method.explanations import Decoding, ExplainSpec, plan
from shared.method.runs import LLMChoice, RunSpec, explanation_orders
from shared.metrics import check_bootstrap
from shared.platform import layout
from shared.platform.artifacts import ArtifactStore
from shared.platform.db.jobs import Priority
from shared.platform.targets import check_targets, resolve
from shared.schemas import Instance
from shared.tasks import Task
from shared.training import TrainSpec, check_base_model


class Submissions:
    """Requests checked and turned into typed job specs (:mod:`shared.contracts.specs`),
    then queued; :meth:`queue_mjd` and :meth:`queue_training` take specs as they are, for
    other domain services (the bootstrap)."""

    def __init__(
        self,
        jobs: JobService,
        datasets: DatasetService,
        tasks: TaskService,
        store: ArtifactStore,
        endpoints: Mapping[str, OpenAIEndpoint],
    ) -> None:
        self.jobs = jobs
        self.datasets = datasets
        self.tasks = tasks
        self.store = store
        self.endpoints = endpoints

    def mjd(self, data: MjdJobIn, caller: Caller) -> JobView:
        """MJD generation for a stored dataset, inline instances or a finished explanation
        job's items; k and labels are checked for every item, and the LLM against this
        server's endpoints, before queueing."""
        given = [n for n in ("dataset_id", "instances", "job_id") if getattr(data, n) is not None]
        if len(given) != 1:
            raise DataError("give exactly one of dataset_id, instances, job_id", field="dataset_id")
        fields = spec_of(data.run)
        llm = LLMChoice(**{name: fields.pop(name) for name in LLMChoice.__dataclass_fields__})
        try:
            run = RunSpec(**fields)
            endpoint = llm.check(self.endpoints)
        except DataError as exc:
            raise exc.located("run.") from None
        if data.job_id is not None:
            task, instances = self.jobs.finished_explanations(data.job_id, "job_id", caller.sees)
            self._task_given(data.task, task)
        else:
            task, instances = self._items(data.dataset_id, data.instances, caller, data.task)
        try:
            run = run.for_task(task)
        except DataError as exc:
            raise exc.located("run.") from None
        for index, instance in enumerate(instances):
            try:
                explanation_orders(instance, run, shortfall_option="run.shortfall")
            except DataError as exc:
                if data.job_id is not None:  # the job's items are as they are: k must change
                    raise DataError(exc.message, field="run.k") from None
                raise exc.located(f"instances[{index}].") from None
        spec = MjdJobSpec(
            run=run,
            **llm_fields(llm, endpoint),
            dataset_id=data.dataset_id,
            explanation_job_id=data.job_id,
            items=len(instances),
            task=task,
        )
        return self.queue_mjd(spec, instances, data.priority, caller.key_id)

    def queue_mjd(
        self,
        spec: MjdJobSpec,
        instances: list[Instance],
        priority: Priority = Priority.NORMAL,
        owner: str | None = None,
    ) -> JobView:
        files = {layout.MJD_INPUT: instances_jsonl(instances)}
        return self.jobs.submit(JobKind.MJD, spec, files, priority, owner)

    def explanation(self, data: ExplanationJobIn, caller: Caller) -> JobView:
        """Explanations written by an LLM for a stored dataset or inline instances; the
        spec, the LLM and each item's labels to explain are checked before queueing."""
        fields = {n: getattr(data, n) for n in ExplainSpec.__dataclass_fields__}
        try:
            spec = ExplainSpec.from_json({**fields, "decoding": spec_of(data.decoding)})
        except DataError as exc:
            nested = exc.field in Decoding.__dataclass_fields__
            raise exc.located("decoding." if nested else "") from None
        llm = LLMChoice(**spec_of(data.run))
        try:
            endpoint = llm.check(self.endpoints)
        except DataError as exc:
            raise exc.located("run.") from None
        task, instances = self._items(data.dataset_id, data.instances, caller, data.task)
        labels = request_labels(data.instances, task) if data.instances is not None else None
        for index, instance in enumerate(instances):
            try:
                plan([instance], spec, [labels[index]] if labels else None, task)
            except DataError as exc:
                prefix = "" if exc.field == "labels_from" else f"instances[{index}]."
                raise exc.located(prefix) from None
        job_spec = ExplanationJobSpec(
            explain=spec,
            **llm_fields(llm, endpoint),
            dataset_id=data.dataset_id,
            items=len(instances),
            task=task,
        )
        files = {layout.MJD_INPUT: instances_jsonl(instances, labels)}
        return self.jobs.submit(JobKind.EXPLANATION, job_spec, files, owner=caller.key_id)

    def _items(
        self,
        dataset_id: str | None,
        records: list[dict[str, Any]] | None,
        caller: Caller,
        task_name: str | None,
    ) -> tuple[Task, list[Instance]]:
        """The task and items of a job: exactly one of a stored dataset the caller sees
        (its own task) or inline records of ``task_name`` (within the row quota)."""
        if (records is None) == (dataset_id is None):
            raise DataError("give exactly one of 'dataset_id' or 'instances'", field="dataset_id")
        if dataset_id is not None:
            task, instances = self.datasets.items(dataset_id, "dataset_id", caller.sees)
            self._task_given(task_name, task)
            return task, instances
        task = self.tasks.resolve(task_name)
        self.datasets.check_rows(len(records or []), "instances")
        return task, parse_instances(records or [], "instances", task)

    def _task_given(self, task_name: str | None, task: Task) -> None:
        """A request's ``task`` beside data that has one must name that one."""
        if task_name is not None and self.tasks.resolve(task_name).ref != task.ref:
            raise DataError(f"the data's task is {task.ref}", field="task")

    def _resolve(
        self, ref: DistributionsRef, field_name: str, sees: str | None
    ) -> tuple[list[str], np.ndarray | None, Task | None]:
        """A stored side's ids, rows and task; inline rows come back as None (checked once
        the comparison's task is known)."""
        given = [
            n for n in ("dataset_id", "job_id", "distributions") if getattr(ref, n) is not None
        ]
        if len(given) != 1:
            raise DataError(
                "give exactly one of dataset_id, job_id, distributions", field=field_name
            )
        if ref.distributions is not None:
            return [f"row-{i + 1}" for i in range(len(ref.distributions))], None, None
        if ref.dataset_id is not None:
            where = f"{field_name}.dataset_id"
            own, instances = self.datasets.items(ref.dataset_id, where, sees)
            if any(i.human is None for i in instances):
                raise DataError("dataset has items without a human distribution", field=where)
            probs = np.array([i.human.probs for i in instances])  # type: ignore[union-attr]
            return [i.id for i in instances], probs, own
        where = f"{field_name}.job_id"
        own, records = self.jobs.finished_mjd_records(ref.job_id or "", where, sees)
        return [r["id"] for r in records], np.array([r["distribution"] for r in records]), own

    def metrics(self, data: MetricsJobIn, caller: Caller) -> JobView:
        """An evaluation (report and ternary plot) of stored or inline distributions; the
        bootstrap and seed are bounded here, before the worker would allocate for them."""
        try:
            check_bootstrap(data.bootstrap, data.seed)
        except DataError as exc:
            raise exc from None
        refs = {"human": data.human, "model": data.model}
        sides = {name: self._resolve(ref, name, caller.sees) for name, ref in refs.items()}
        stored = [own for _, _, own in sides.values() if own is not None]
        task = self.tasks.resolve(data.task) if data.task is not None else None
        task = task or (stored[0] if stored else self.tasks.resolve(None))
        rows = {}
        for name, (_, probs, own) in sides.items():
            if own is not None:
                same_labels(task, own, name)
            where = f"{name}.distributions"
            rows[name] = (
                probs
                if probs is not None
                else checked_rows(refs[name].distributions or [], where, task)
            )
        (human_ids, _, _), (model_ids, _, _) = sides["human"], sides["model"]
        human, model = rows["human"], rows["model"]
        if human_ids[0].startswith("row-") or model_ids[0].startswith("row-"):
            same_length(human, model)
            model_ids = human_ids = [f"row-{i + 1}" for i in range(len(human))]
        elif set(human_ids) != set(model_ids):
            raise DataError("human and model cover different item ids", field="model")
        spec = MetricsJobSpec(plot=data.plot, bootstrap=data.bootstrap, seed=data.seed, task=task)
        files = {
            layout.METRICS_HUMAN: distributions_file(human_ids, human),
            layout.METRICS_MODEL: distributions_file(model_ids, model),
        }
        return self.jobs.submit(JobKind.METRICS, spec, files, owner=caller.key_id)

    def training(self, data: TrainingJobIn, caller: Caller) -> JobView:
        """Distillation of a student; its data, dev set and calibration are checked by the
        trainer's own rules before queueing."""
        try:
            train = TrainSpec(**spec_of(data.train))
            check_base_model(train.base_model)
        except DataError as exc:
            raise exc.located("train.") from None
        task = self._data_task(data.data, "data", caller.sees)
        if data.dev is not None:
            same_labels(task, self._data_task(data.dev, "dev", caller.sees), "dev")
        spec = TrainingJobSpec(
            data=data.data,
            dev=data.dev,
            calibrate_on=data.calibrate_on,
            train=train,
            quantize=data.quantize,
            promote=data.promote,
            task=task,
        )
        return self.queue_training(spec, caller.key_id)

    def _data_task(self, ref: DataRef, field_name: str, sees: str | None) -> Task:
        """The task of a training's data: a stored dataset's or an MJD job's own (vendored
        datasets and anything the trainer's checks will refuse: NLI)."""
        if sum(getattr(ref, name) is not None for name in DataRef.__struct_fields__) != 1:
            return self.tasks.resolve(None)  # resolve() names the mistake
        if ref.dataset_id is not None:
            dataset = self.datasets.get(ref.dataset_id, sees, f"{field_name}.dataset_id")
            return self.tasks.resolve(dataset.task, f"{field_name}.dataset_id")
        if ref.mjd_job_id is not None:
            where = f"{field_name}.mjd_job_id"
            return self.jobs.finished_mjd_records(ref.mjd_job_id, where, sees)[0]
        return self.tasks.resolve(None)

    def queue_training(self, spec: TrainingJobSpec, owner: str | None = None) -> JobView:
        """The training ``spec`` asks for, once its data, dev set and calibration pass the
        trainer's own rules."""
        if spec.calibrate_on is not None and spec.calibrate_on < 1:
            raise DataError("must be at least 1", field="calibrate_on")
        folder = self.datasets.datasets_dir
        check_targets(
            resolve(self.store, spec.data, "data", datasets_dir=folder, task=spec.task),
            spec.calibrate_on,
        )
        if spec.dev is not None:
            check_targets(resolve(self.store, spec.dev, "dev", datasets_dir=folder, task=spec.task))
        return self.jobs.submit(JobKind.TRAINING, spec, {}, owner=owner)
