package main

// workerRows reads worker.json (worker/cmd/workerbench).
func workerRows(dir string) []row { return nil }

// mintRows reads mint.json (the mode-mint proxy overhead).
func mintRows(dir string) []row { return nil }
