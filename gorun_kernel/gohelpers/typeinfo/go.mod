module gorun.dev/typeinfo

go 1.21
