"""`python -m gorun_kernel` starts the kernel; `... install` installs its kernelspec;
`... warm` warms go's build cache."""

import sys

if len(sys.argv) > 1 and sys.argv[1] == "install":
    from gorun_kernel.install import main

    main(sys.argv[2:])
elif len(sys.argv) > 1 and sys.argv[1] == "warm":
    from gorun_kernel.warm import main

    main(sys.argv[2:])
else:
    from gorun_kernel.warm import WARMER

    WARMER.start()  # go's build cache warms from the first moment, before ipykernel loads
    from gorun_kernel.kernel import main

    main()
