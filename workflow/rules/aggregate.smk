rule aggregate_experiment:
    input:
        seed_metrics,
    output:
        "results/tables/{experiment}.csv",
    log:
        "results/logs/tables/{experiment}.log",
    localrule: True
    conda:
        "../envs/xcorpus.yaml"
    params:
        experiment=experiment_params,
    script:
        "../scripts/aggregate_experiment.py"


rule aggregate_all:
    input:
        all_metrics,
    output:
        csv="results/cross_corpus_uar.csv",
        md="results/cross_corpus_uar.md",
        tex="results/cross_corpus_uar.tex",
    log:
        "results/logs/tables/cross_corpus_uar.log",
    localrule: True
    conda:
        "../envs/xcorpus.yaml"
    params:
        experiments=summary_experiments(),
    script:
        "../scripts/aggregate_all.py"


rule aggregate_dimensional:
    input:
        dimensional_metrics,
    output:
        csv="results/cross_corpus_ccc.csv",
        md="results/cross_corpus_ccc.md",
    log:
        "results/logs/tables/cross_corpus_ccc.log",
    conda:
        "../envs/xcorpus.yaml"
    params:
        experiments={
            name: without_wandb(exp)
            for name, exp in EXPERIMENTS.items()
            if has_dimensional_head(exp)
        },
    script:
        "../scripts/aggregate_dimensional.py"


rule compare_experiments:
    input:
        comparison_predictions,
    output:
        csv="results/comparisons.csv",
        md="results/comparisons.md",
    log:
        "results/logs/tables/comparisons.log",
    localrule: True
    conda:
        "../envs/xcorpus.yaml"
    params:
        comparisons=comparisons_on("uar"),
        runs=comparison_runs,
        metric="uar",
    script:
        "../scripts/compare_experiments.py"


rule compare_dimensional:
    input:
        ccc_comparison_predictions,
    output:
        csv="results/comparisons_ccc.csv",
        md="results/comparisons_ccc.md",
    log:
        "results/logs/tables/comparisons_ccc.log",
    conda:
        "../envs/xcorpus.yaml"
    params:
        comparisons=comparisons_on("ccc"),
        runs=ccc_comparison_runs,
        metric="ccc",
    script:
        "../scripts/compare_experiments.py"
