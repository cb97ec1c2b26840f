package main

import "os"

// helpToStdout sends a subcommand's --help to standard output, where `kimberlite CMD --help |
// less` finds it: the flag package prints usage to os.Stderr, which is pointed at os.Stdout for
// this process when the arguments ask for help. Errors in other runs still go to stderr.
func helpToStdout(args []string) {
	if len(args) > 0 && args[0] == "help" {
		os.Stderr = os.Stdout
		return
	}
	for _, a := range args {
		if a == "--" {
			return
		}
		switch a {
		case "-h", "-help", "--help", "-h=true", "--help=true", "-help=true":
			os.Stderr = os.Stdout
			return
		}
	}
}
