import ArgumentParser

@main
struct Hone: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a video sharper by fine-tuning a super-resolution network on that video.",
        subcommands: [Bench.self])
}
