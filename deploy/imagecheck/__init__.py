"""The checks `deploy/check-image-build.py` runs: the Dockerfile's build replayed without docker.

`dockerfile` reads the Dockerfile's stages; `context` lists the build context as
.dockerignore filters it; `steps` runs and reports the steps in a temporary root filesystem;
`build` replays the build stage; `runtime` checks the runtime stage and what the install
produced; `smoke` starts the processes briefly. deploy/ is no package: the script imports
this one from its own directory, and tests/deploy loads it by path.
"""
