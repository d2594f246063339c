# Regenerates the FAISS files in this directory with python3-faiss:
#
#     cd faissio/testdata && python3 gen.py
#
# Each NAME.index is written by faiss.write_index; NAME.res holds FAISS's
# answers to the queries in queries.f32 (K int64 ids per query, then K
# float32 distances per query). The data are small so that the files can seed
# the fuzz target.
import numpy as np
import faiss

D, NB, NQ, K = 8, 300, 12, 5
rs = np.random.RandomState(123)
xb = rs.normal(size=(NB, D)).astype("float32")
xq = rs.normal(size=(NQ, D)).astype("float32")
xq.tofile("queries.f32")


def save(name, index):
    faiss.write_index(index, name + ".index")
    dist, ids = index.search(xq, K)
    with open(name + ".res", "wb") as f:
        f.write(ids.astype("<i8").tobytes())
        f.write(dist.astype("<f4").tobytes())


def ivf_of(index):
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexRefine):
        return ivf_of(index.base_index)
    if isinstance(index, faiss.IndexPreTransform):
        return ivf_of(index.index)
    return faiss.extract_index_ivf(index)


def built(desc, metric=faiss.METRIC_L2, n=NB, nprobe=None, k_factor=None):
    index = faiss.index_factory(D, desc, metric)
    index.train(xb)
    index.add(xb[:n])
    if nprobe is not None:
        ivf_of(index).nprobe = nprobe
    if k_factor is not None:
        index.k_factor = k_factor
    return index


save("flat_l2", built("Flat"))
save("flat_ip", built("Flat", faiss.METRIC_INNER_PRODUCT))
save("ivf_flat_l2", built("IVF8,Flat", nprobe=3))
save("ivf_flat_ip", built("IVF8,Flat", faiss.METRIC_INNER_PRODUCT, nprobe=2))
# Few vectors in many lists: the lists are stored as 'sprs'.
save("ivf_flat_sparse", built("IVF32,Flat", n=10, nprobe=32))
# An RVC "trained_" file: centroids, no vectors.
save("ivf_flat_empty", built("IVF8,Flat", n=0))
save("ivf_flat_rflat", built("IVF8,Flat,RFlat", nprobe=2, k_factor=4))
save("l2norm_flat", built("L2norm,Flat", faiss.METRIC_INNER_PRODUCT))
save("l2norm_ivf_flat", built("L2norm,IVF8,Flat", faiss.METRIC_INNER_PRODUCT, nprobe=4))
idmap = faiss.IndexIDMap(faiss.IndexFlatL2(D))
idmap.add_with_ids(xb[:50], np.arange(50, dtype="int64") * 10 + 7)
save("idmap_flat", idmap)
save("pq4fs", built("PQ4x4fs"))
save("ivf_pq4fs", built("IVF8,PQ4x4fs", nprobe=3))
save("ivf_pq4fsr", built("IVF8,PQ4x4fsr", nprobe=3))
save("ivf_pq4fs_rflat", built("IVF8,PQ4x4fs,RFlat", nprobe=3, k_factor=4))
# Records kume reads but cannot search, or does not read.
faiss.write_index(built("IVF8,PQ4"), "ivf_pq8.index")
faiss.write_index(built("HNSW8"), "hnsw.index")
