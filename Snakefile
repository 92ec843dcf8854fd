from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/index.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/difficulty.smk"
include: "workflow/rules/manifest.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"


rule all:
    input:
        "results/cross_corpus_uar.csv",
        "results/cross_corpus_uar.md",
        expand("results/tables/{experiment}.csv", experiment=EXPERIMENTS),


onsuccess:
    print_summary_table("results/cross_corpus_uar.md")
