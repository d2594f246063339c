// Package rvc reproduces the index steps of retrieval-based voice
// conversion (RVC, and Applio, which shares its pipeline) with kume:
// training the feature index of a voice from its folder of HuBERT feature
// frames (TrainIndex, the flow of RVC's train_index), and blending the
// frames of new speech with their nearest stored frames at inference time
// (Retriever, the retrieval step of RVC's pipeline).
//
// The files TrainIndex writes are FAISS index files with RVC's names, which
// RVC's Python loads, and a Retriever opens the files RVC writes.
package rvc
