rule train:
    input:
        unpack(train_inputs),
    output:
        metrics="results/runs/{experiment}/seed-{seed}/metrics.json",
        predictions="results/runs/{experiment}/seed-{seed}/predictions.parquet",
        history="results/runs/{experiment}/seed-{seed}/history.csv",
        model="results/runs/{experiment}/seed-{seed}/model.pt",
    log:
        "results/logs/runs/{experiment}/seed-{seed}.log",
    benchmark:
        "results/benchmarks/runs/{experiment}/seed-{seed}.tsv"
    wildcard_constraints:
        experiment=experiments_pattern("cross_corpus", "both"),
    conda:
        "../envs/xcorpus.yaml"
    threads: 1
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
        gpu=1,
    params:
        experiment=training_params,
        checkpoints="results/checkpoints/{experiment}/seed-{seed}",
    script:
        "../scripts/train.py"


rule train_fold:
    input:
        unpack(train_inputs),
    output:
        metrics="results/runs/{experiment}/seed-{seed}/fold-{fold}/metrics.json",
        predictions="results/runs/{experiment}/seed-{seed}/fold-{fold}/predictions.parquet",
        history="results/runs/{experiment}/seed-{seed}/fold-{fold}/history.csv",
        model="results/runs/{experiment}/seed-{seed}/fold-{fold}/model.pt",
    log:
        "results/logs/runs/{experiment}/seed-{seed}/fold-{fold}.log",
    benchmark:
        "results/benchmarks/runs/{experiment}/seed-{seed}/fold-{fold}.tsv"
    wildcard_constraints:
        experiment=experiments_pattern("loso", "both"),
    conda:
        "../envs/xcorpus.yaml"
    threads: 1
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
        gpu=1,
    params:
        experiment=training_params,
        checkpoints="results/checkpoints/{experiment}/seed-{seed}/fold-{fold}",
        validation_speakers=config["validation_speakers"],
    script:
        "../scripts/train.py"


rule loso_mean:
    input:
        unpack(loso_fold_results),
    output:
        "results/runs/{experiment}/seed-{seed}/loso.json",
    log:
        "results/logs/runs/{experiment}/seed-{seed}/loso.log",
    wildcard_constraints:
        experiment=experiments_pattern("loso", "both"),
    localrule: True
    conda:
        "../envs/xcorpus.yaml"
    script:
        "../scripts/loso_mean.py"
