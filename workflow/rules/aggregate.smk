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
        comparisons=config["comparisons"],
        runs=comparison_runs,
    script:
        "../scripts/compare_experiments.py"
