"""Topic-modelling pipeline for SCIO/MIIT press-conference transcripts."""
