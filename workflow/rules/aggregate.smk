rule aggregate_experiment:
    input:
        seed_metrics,
    output:
        "results/tables/{experiment}.csv",
    log:
        "results/logs/tables/{experiment}.log",
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
    log:
        "results/logs/tables/cross_corpus_uar.log",
    conda:
        "../envs/xcorpus.yaml"
    params:
        experiments=EXPERIMENTS,
    script:
        "../scripts/aggregate_all.py"
