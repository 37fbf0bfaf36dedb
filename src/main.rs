fn main() {
    std::process::exit(sdae::cli::main());
}
