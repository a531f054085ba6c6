"""Topic-modelling pipeline for SCIO/MIIT press-conference transcripts."""

from pipeline.rundir import load_run

__all__ = ["load_run"]
