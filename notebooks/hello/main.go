// Command hello greets the people named on its command line.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	names := os.Args[1:]
	if len(names) == 0 {
		names = []string{"world"}
	}
	fmt.Printf("hello, %s!\n", strings.Join(names, " and "))
}
