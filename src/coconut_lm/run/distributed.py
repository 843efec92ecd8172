"""Processes and devices: single process by default, DDP or FSDP when launched by `torchrun`.

`init_distributed()` reads the `torchrun` environment (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`) and
starts a process group only when there is more than one process: NCCL on GPU, gloo on CPU.
`wrap_model` wraps the `CoconutModel` in DDP, or shards its decoder layers with FSDP; the
decoder-layer class is found generically (the model's `_no_split_modules`, else the largest
`nn.ModuleList` of the decoder), never by model family.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from coconut_lm.run.config import ConfigError


@dataclass(frozen=True)
class DistEnv:
    """Where this process runs among the others."""

    rank: int = 0
    """Global rank (0 logs and saves)."""
    world_size: int = 1
    """Number of processes."""
    local_rank: int = 0
    """Rank on this machine (the GPU index)."""
    device: torch.device = torch.device("cpu")
    """Device of this process."""

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(device: str | None, local_rank: int = 0) -> torch.device:
    """The device a process runs on: the user's choice, else its GPU when there is one.

    "cuda" without an index means this process's GPU (`LOCAL_RANK`). Asking for a GPU that the
    machine does not have is an error, not a silent fallback.
    """
    if device is None:
        return torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"--device {device!r} is not a device (cpu, cuda, cuda:N)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {device}: this machine has no CUDA GPU (use --device cpu)")
        dev = torch.device("cuda", local_rank if dev.index is None else dev.index)
    return dev


def init_distributed(device: str | None = None) -> DistEnv:
    """The process environment; starts the process group under `torchrun` (world size > 1).

    `device` (see `resolve_device`) decides everything device-dependent: the process group
    backend (NCCL on GPU, gloo otherwise) and, in `wrap_model`, FSDP's device mesh.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world_size > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return DistEnv(rank, world_size, local_rank, dev)


def barrier(env: DistEnv) -> None:
    if env.distributed:
        torch.distributed.barrier()


def all_reduce_sum(tensor: torch.Tensor, env: DistEnv) -> torch.Tensor:
    """Sum `tensor` over processes in place (a no-op in a single process); returns it."""
    if env.distributed:
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
    return tensor


def gather_objects(obj: Any, env: DistEnv) -> list:
    """Every process's `obj`, in rank order (on every process)."""
    if not env.distributed:
        return [obj]
    out: list = [None] * env.world_size
    torch.distributed.all_gather_object(out, obj)
    return out


def shutdown(env: DistEnv) -> None:
    if env.distributed and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def decoder_layer_classes(model: nn.Module) -> set[type]:
    """The classes of the repeated decoder layers, found without naming model families.

    First the Hugging Face `_no_split_modules` names of any submodule; else the class of the
    longest `nn.ModuleList` (the decoder's layer stack).
    """
    names: set[str] = set()
    for module in model.modules():
        names.update(getattr(module, "_no_split_modules", None) or [])
    found = {type(m) for m in model.modules() if type(m).__name__ in names}
    if found:
        return found
    lists = [m for m in model.modules() if isinstance(m, nn.ModuleList) and len(m) > 0]
    if not lists:
        raise ValueError("cannot find the decoder layers to shard: no _no_split_modules and no ModuleList")
    longest = max(lists, key=len)
    return {type(longest[0])}


def wrap_model(model: nn.Module, env: DistEnv, fsdp: bool = False, find_unused_parameters: bool = False):
    """The model to train: itself (one process), DDP, or FSDP-sharded (fully_shard).

    DDP: every micro-batch calls the wrapper's forward once (the Coconut forward, however many
    passes it makes) and backward once, so every rank reduces gradients exactly once per step.
    FSDP (`torch.distributed.fsdp.fully_shard`): each decoder layer, then the whole model.
    """
    model.to(env.device)
    if not env.distributed:
        return model
    if fsdp:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        # FSDP's default mesh is on CUDA whenever a GPU exists; the process's own device decides.
        mesh = init_device_mesh(env.device.type, (env.world_size,))
        classes = tuple(decoder_layer_classes(model))
        for module in list(model.modules()):
            if isinstance(module, classes):
                fully_shard(module, mesh=mesh)
        fully_shard(model, mesh=mesh)
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [env.device.index] if env.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids, find_unused_parameters=find_unused_parameters)


def unwrap(model: nn.Module) -> nn.Module:
    """The `CoconutModel` inside a DDP wrapper (FSDP2 modules are the model itself)."""
    return getattr(model, "module", model)
