rule extract_features:
    input:
        "results/corpora/{corpus}.parquet",
    output:
        "results/features/{features}/{corpus}/shard-{shard}-of-{n_shards}.parquet",
    log:
        "results/logs/features/{features}/{corpus}/shard-{shard}-of-{n_shards}.log",
    conda:
        "../envs/xcorpus.yaml"
    threads: 1
    params:
        backend=feature_backend,
        options=extract_options,
    shell:
        "xcorpus extract {input} {output} --backend {params.backend} {params.options}"
        " --shard {wildcards.shard} --shards {wildcards.n_shards} > {log} 2>&1"
