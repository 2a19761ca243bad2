//! Ayaka gateway connections: shards, a streaming zlib decompressor, dispatchers and a shard manager.
