rule score_difficulty:
    input:
        "results/corpora/{corpus}.parquet",
    output:
        difficulty="results/difficulty/{method}/{corpus}.parquet",
        rejects="results/difficulty/{method}/{corpus}.rejects.csv",
    log:
        "results/logs/difficulty/{method}/{corpus}.log",
    localrule: True
    conda:
        "../envs/xcorpus.yaml"
    params:
        expected_vad=difficulty_params,
    script:
        "../scripts/score_difficulty.py"
