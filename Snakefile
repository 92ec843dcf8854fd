from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/index.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/difficulty.smk"
include: "workflow/rules/manifest.smk"
include: "workflow/rules/leakage.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/tracking.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        final_outputs(),


onsuccess:
    print_summary_table("results/cross_corpus_uar.md")
