import ArgumentParser
import Foundation
import Jobs

/// `hone presets`: `infer` settings saved by name, listed, saved and deleted.
struct PresetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presets",
        abstract: "List, save or delete named `hone infer` settings (model, scale, light, encoder).",
        discussion: """
            `hone infer --preset-name NAME` starts from a saved preset; options given on its \
            command line win over the preset's. Presets live in one YAML file, each name with \
            its settings (model, scale, light, self_ensemble, codec, crf, speed), which may be \
            edited by hand or shared (saving rewrites it: comments are not kept). A CRF saved \
            with one codec is dropped when --codec names another.
            """,
        subcommands: [List.self, Save.self, Delete.self],
        defaultSubcommand: List.self)

    struct FileOption: ParsableArguments {
        @Option(help: "The presets file. (default: $XDG_CONFIG_HOME/hone/presets.yaml, or ~/.config/hone/presets.yaml)")
        var presetFile: String?

        /// The file; one given by name must exist unless it is to be written (`save`).
        func load(creating: Bool = false) throws -> PresetFile {
            try PresetFile(presetFile ?? PresetFile.defaultPath, mustExist: presetFile != nil && !creating)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each saved preset and its settings.")
        @OptionGroup var file: FileOption

        func run() throws {
            let presets = try file.load()
            guard !presets.presets.isEmpty else { say("no presets in \(presets.path) yet; save one with `hone presets save NAME --checkpoint …`"); return }
            for name in presets.presets.keys.sorted() { say("\(name): \(presets.presets[name]!.summary)") }
        }
    }

    struct Save: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Save infer's options under a name (replacing a preset of that name).")
        @Argument(help: "The preset's name: letters, digits, - and _.")
        var name: String
        @OptionGroup var settings: InferSettings
        @OptionGroup var file: FileOption

        func run() throws {
            var presets = try file.load(creating: true)
            var preset = settings.given
            // A checkpoint file is saved by its absolute path, so the preset works from any folder.
            preset.model = preset.model.map { FileManager.default.fileExists(atPath: $0) ? URL(fileURLWithPath: $0).standardizedFileURL.path : $0 }
            try presets.save(preset, as: name)
            say("saved preset \(name) in \(presets.path): \(preset.summary)")
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a saved preset.")
        @Argument(help: "The preset's name.")
        var name: String
        @OptionGroup var file: FileOption

        func run() throws {
            var presets = try file.load()
            try presets.delete(name)
            say("deleted preset \(name) from \(presets.path)")
        }
    }
}
