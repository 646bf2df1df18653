"""People: grouping faces into persons and keeping the groups right as the user edits them.

- :mod:`.knn` — the nearest-neighbour graph of the face embeddings (faiss);
- :mod:`.cluster` — average-linkage clustering on that graph with the user's constraints, as a cached merge
  tree (``build_merge_tree``, ``cluster_faces``, ``cluster_to_n``) and incremental assignment of new faces
  (``assign_incremental``); pure numpy/faiss, no store;
- :mod:`.review` — proposing a split of a mixed person and flagging faces that do not belong;
- :mod:`.edits` and :mod:`.grouping` — the same over the library's store.

Nothing is imported here, so ``from faceorganizer.people import edits`` does not load faiss.
"""
