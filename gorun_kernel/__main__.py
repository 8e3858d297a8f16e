"""`python -m gorun_kernel` starts the kernel; `... install` installs its kernelspec."""

import sys

if len(sys.argv) > 1 and sys.argv[1] == "install":
    from gorun_kernel.install import main

    main(sys.argv[2:])
else:
    from gorun_kernel.kernel import main

    main()
