"""The probe lab: what compute devices this machine has, and their peak rates.

``mlatlas probe`` is a friendlier union of ``torch.utils.collect_env``,
``deviceQuery`` and ``nvidia-smi -q``. Its Python API never prints and never exits:

- :func:`probe` returns a :class:`ProbeReport` (CPU, torch build, CUDA or ROCm
  GPUs, Apple MPS), whose ``to_dict()`` is the ``--json`` output, schema
  ``mlatlas.probe/1``;
- :func:`peaks` returns the theoretical peak FLOP/s and memory bandwidth of one
  device as :class:`Peaks`, for a benchmark's "% of peak".

Read the submodules in this order: :mod:`~mlatlas.labs.probe.cpu`,
:mod:`~mlatlas.labs.probe.torch_build`, :mod:`~mlatlas.labs.probe.nvml`,
:mod:`~mlatlas.labs.probe.accelerators`, :mod:`~mlatlas.labs.probe.peaks`,
:mod:`~mlatlas.labs.probe.cuda`, :mod:`~mlatlas.labs.probe.mps`,
:mod:`~mlatlas.labs.probe.report`.
"""

from mlatlas.labs.probe.peaks import Peaks, peaks
from mlatlas.labs.probe.report import SCHEMA, ProbeReport, probe

__all__ = ["SCHEMA", "Peaks", "ProbeReport", "peaks", "probe"]
