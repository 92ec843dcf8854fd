rule extract_features:
    input:
        "results/corpora/{table}.parquet",
    output:
        "results/features/{features}/{table}/shard-{shard}-of-{n_shards}.parquet",
    log:
        "results/logs/features/{features}/{table}/shard-{shard}-of-{n_shards}.log",
    benchmark:
        "results/benchmarks/features/{features}/{table}/shard-{shard}-of-{n_shards}.tsv"
    conda:
        "../envs/xcorpus.yaml"
    threads: 1
    resources:
        mem_mb=extract_mem_mb,
        runtime=extract_runtime,
        gpu=extract_gpus,
    params:
        backend=feature_backend,
        options=extract_options,
    shell:
        "xcorpus extract {input:q} {output:q} --backend {params.backend:q} {params.options}"
        " --shard {wildcards.shard:q} --shards {wildcards.n_shards:q} > {log:q} 2>&1"
