rule score_difficulty:
    input:
        "results/corpora/{corpus}.parquet",
    output:
        difficulty="results/difficulty/{corpus}.parquet",
        rejects="results/difficulty/{corpus}.rejects.csv",
    log:
        "results/logs/difficulty/{corpus}.log",
    conda:
        "../envs/xcorpus.yaml"
    params:
        expected_vad=config["expected_vad"],
    script:
        "../scripts/score_difficulty.py"
