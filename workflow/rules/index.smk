rule index_corpus:
    input:
        demo_root,
    output:
        index="results/corpora/{corpus}.parquet",
        rejects="results/corpora/{corpus}.rejects.csv",
    log:
        "results/logs/index/{corpus}.log",
    conda:
        "../envs/xcorpus.yaml"
    params:
        root=corpus_root,
        transcripts=transcripts_option,
        splits=splits_option,
    shell:
        "xcorpus index {wildcards.corpus} {params.root} --out {output.index}"
        " --rejects {output.rejects} {params.transcripts} {params.splits} > {log} 2>&1"
