"""Exports of `samples.jsonl` for training frameworks: OpenAI fine-tuning, Hugging Face chat templates (TRL,
axolotl), LLaMA-Factory's ShareGPT and GLM-4's fine-tuning format. See `formats` for what each one holds."""

from toolsynth.exports.files import (
    EXPORT_FILE_NAMES,
    ExportError,
    ExportReport,
    check_options,
    export_rows,
    export_run,
    export_samples,
    samples_file,
    summary_line,
)
from toolsynth.exports.formats import FORMATS, Converted, ExportOptions

__all__ = [
    "EXPORT_FILE_NAMES",
    "FORMATS",
    "Converted",
    "ExportError",
    "ExportOptions",
    "ExportReport",
    "check_options",
    "export_rows",
    "export_run",
    "export_samples",
    "samples_file",
    "summary_line",
]
