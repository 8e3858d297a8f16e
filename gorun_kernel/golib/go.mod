module gorun.dev/display

go 1.21
