# jne: voxelwise encoding models and Jacobian-based nonlinearity (JNE).
#
# Run the demo:        snakemake --profile workflow/profiles/default
# Validate JNE itself: snakemake --profile workflow/profiles/default validate
# HTML report:         snakemake --profile workflow/profiles/default \
#                          --report results/report.html
#
# Stages, one file each under workflow/rules/:
#   fetch     responses, stimuli, embeddings and atlas -> data/dataset.h5
#   prepare   z-scoring, repeat averaging, splits, noise ceiling
#   fit       ridge baseline, residual MLPs per seed, linear-surrogate null
#   score     test R², bootstrap p-values, FDR, noise ceiling
#   jacobian  JNE per voxel, JNE-SS per stimulus and voxel
#   report    maps, surface plots, per-ROI tables and figures
#   validate  simulations that check JNE against known nonlinearity

from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# The demo config applies unless --configfile names another one.
if not workflow.overwrite_configfiles:

    configfile: Path(workflow.basedir) / "config" / "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/fetch.smk"
include: "workflow/rules/prepare.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/jacobian.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/validate.smk"


rule all:
    input:
        all_targets(),
    default_target: True
