rule index_corpus:
    input:
        demo_root,
    output:
        index="results/corpora/{corpus}.parquet",
        rejects="results/corpora/{corpus}.rejects.csv",
        rated="results/corpora/{corpus}.rated.parquet",
    log:
        "results/logs/index/{corpus}.log",
    conda:
        "../envs/xcorpus.yaml"
    params:
        root=corpus_root,
        sources=corpus_sources,
        transcripts=transcripts_option,
        splits=splits_option,
    shell:
        "xcorpus index {wildcards.corpus:q} {params.root:q} --out {output.index:q}"
        " --rejects {output.rejects:q} --rated {output.rated:q} {params.transcripts} {params.splits} > {log:q} 2>&1"
