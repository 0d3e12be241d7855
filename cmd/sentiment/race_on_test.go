//go:build race

package main

// raceSlowdown scales the time bounds of tests: the race detector makes
// this command's data preparation several times slower.
const raceSlowdown = 8
