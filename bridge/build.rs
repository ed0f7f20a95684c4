//! Generates the CRI client and the CSI server and client from the project's own `.proto`
//! descriptions (`proto/cri`, `proto/csi`), compiled by protox: nothing to install.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/cri/runtime.proto", "proto/csi/csi.proto"];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let files = protox::compile(protos, ["proto/cri", "proto/csi"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(files)?;
    Ok(())
}
