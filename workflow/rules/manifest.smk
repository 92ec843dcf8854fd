rule build_manifest:
    input:
        indexes=manifest_indexes,
        rated=manifest_rated,
        lists=manifest_list_files,
    output:
        manifest="results/manifests/{experiment}.parquet",
        rejects="results/manifests/{experiment}.rejects.csv",
    log:
        "results/logs/manifests/{experiment}.log",
    localrule: True
    conda:
        "../envs/xcorpus.yaml"
    params:
        experiment=manifest_params,
        validation_speakers=config["validation_speakers"],
        test_speakers=config["test_speakers"],
        test_lists=manifest_test_lists,
    script:
        "../scripts/build_manifest.py"
