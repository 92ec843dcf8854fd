rule hash_audio:
    input:
        "results/corpora/{table}.parquet",
    output:
        "results/audio_hashes/{table}.parquet",
    log:
        "results/logs/audio_hashes/{table}.log",
    conda:
        "../envs/xcorpus.yaml"
    threads: 1
    script:
        "../scripts/hash_audio.py"


rule leakage:
    input:
        unpack(leakage_inputs),
    output:
        report(
            "results/leakage/{experiment}.csv",
            caption="../report/leakage.rst",
            category="Leakage",
            subcategory="{experiment}",
        ),
    log:
        "results/logs/leakage/{experiment}.log",
    localrule: True
    conda:
        "../envs/xcorpus.yaml"
    params:
        experiment=leakage_params,
        features=leakage_features,
        validation_speakers=config["validation_speakers"],
    script:
        "../scripts/leakage.py"
