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
    conda:
        "../envs/xcorpus.yaml"
    threads: 1
    params:
        experiment=experiment_params,
    script:
        "../scripts/train.py"
