import Foundation
import Networks
import Training
import VideoIO

/// `hone infer` over several videos — files, or folders of them — each into
/// `folder` under its default name. A video whose output is already there is
/// skipped, and a video killed mid-way continues from its parts, so the same
/// command run again finishes only what is missing. One video's failure is
/// reported and the others go on.
public struct BatchInferJob {
    /// The settings every video is upscaled with (its `video`, `output` and `outputFolder` are set per video).
    public var template: InferJob
    public var inputs: [String]
    public var folder: String

    public init(template: InferJob, inputs: [String], folder: String) { (self.template, self.inputs, self.folder) = (template, inputs, folder) }

    public enum Outcome {
        case written(InferJob.Report)
        case skipped(output: String)
        /// The one-line reason.
        case failed(String)
    }

    /// The videos `inputs` name: each file as it is, and each folder's files that
    /// FFmpeg reads as video or a picture, by name; hidden files and Hone's own
    /// outputs (`*.hone-x*`) are passed over. Also the folders' other files, ignored.
    /// - Throws: `FileError` naming an input that does not exist.
    static func videos(in inputs: [String]) throws -> (videos: [String], ignored: [String]) {
        var videos: [String] = [], ignored: [String] = []
        for input in inputs {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isFolder) else { throw FileError(input, "no such file or folder") }
            guard isFolder.boolValue else { videos.append(input); continue }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: input)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") && !name.contains(".hone-x") {
                let path = URL(fileURLWithPath: input).appendingPathComponent(name).path
                var isSubfolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isSubfolder), !isSubfolder.boolValue else { continue }
                if (try? MediaInput(path)) != nil { videos.append(path) } else { ignored.append(path) }
            }
        }
        return (videos, ignored)
    }

    /// Upscales each video in turn; `each` hears every outcome as it comes.
    /// - Throws: `FileError` for an input or output folder that cannot be used; `UsageError` when
    ///   there is no video, or two would be written under one name (a.mp4 and a.mkv); `JobCancelled`
    ///   (the video under way keeps its finished parts; the next run continues it).
    public func run(_ observer: JobObserver, each: (_ video: String, _ outcome: Outcome) -> Void) throws -> [(video: String, outcome: Outcome)] {
        let (videos, ignored) = try Self.videos(in: inputs)
        if !ignored.isEmpty {
            observer.report("ignored \(ignored.count) file\(ignored.count == 1 ? "" : "s") that FFmpeg does not read as video: \(ignored.joined(separator: ", "))")
        }
        guard !videos.isEmpty else { throw UsageError("no video in \(inputs.joined(separator: ", ")) (FFmpeg reads none of its files)") }
        // Outputs are named from the input's name without its extension.
        let named = Dictionary(grouping: videos) { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        if let clash = named.values.first(where: { $0.count > 1 }) {
            throw UsageError("\(clash.joined(separator: " and ")) would be written under one name in \(folder); upscale one of them on its own with -o")
        }
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw FileError(folder, "cannot create the output folder (\(error.localizedDescription))")
        }
        var outcomes: [(video: String, outcome: Outcome)] = []
        for video in videos {
            var job = template
            (job.video, job.output, job.outputFolder, job.skipWritten) = (video, nil, folder, true)
            let outcome: Outcome
            do {
                let report = try job.run(observer)
                outcome = report.skipped ? .skipped(output: report.output) : .written(report)
            } catch let cancelled as JobCancelled {
                throw cancelled
            } catch {
                outcome = .failed("\(error)")
            }
            each(video, outcome)
            outcomes.append((video, outcome))
        }
        return outcomes
    }
}
