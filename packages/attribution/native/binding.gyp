{
  "targets": [
    {
      "target_name": "olmmap",
      "sources": ["mmap.cc"],
      "cflags_cc": ["-O2", "-Wall"]
    }
  ]
}
