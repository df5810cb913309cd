import Foundation
import GRDB
import Jobs
import Networks
import Quality
import Training
import VideoIO

/// The served jobs, in SQLite (`DIR/jobs.sqlite`, write-ahead log), and their
/// folders (`DIR/jobs/<id>/`). Every change is committed before it is
/// answered, so a restart — or a crash — finds the queue as it was.
final class JobStore: Sendable {
    let database: DatabaseQueue
    let folder: URL
    /// Held while this server runs: two servers on one folder would run its jobs twice.
    private let lock: OutputLock

    /// - Throws: `FileError` naming the data folder or database when they cannot be created or opened,
    ///   or when another `hone serve` uses the folder.
    init(data: String) throws {
        folder = URL(fileURLWithPath: data, isDirectory: true).standardizedFileURL
        do {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("jobs"), withIntermediateDirectories: true)
        } catch {
            throw FileError(data, "cannot create the data folder (\(error.localizedDescription))")
        }
        do {
            lock = try OutputLock(folder.appendingPathComponent("jobs.sqlite").path, inputs: [])
        } catch {
            throw FileError(data, "another hone serve is using this data folder; stop it, or pass another --data")
        }
        let path = folder.appendingPathComponent("jobs.sqlite").path
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            database = try DatabaseQueue(path: path, configuration: configuration)
            try database.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") }
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in
                try db.create(table: "job") { t in
                    t.primaryKey("id", .text)
                    t.column("name", .text).notNull()
                    t.column("options", .jsonText).notNull()
                    t.column("state", .text).notNull().indexed()
                    t.column("created", .double).notNull()
                    t.column("started", .double)
                    t.column("finished", .double)
                    t.column("message", .text)
                    t.column("reports", .jsonText).notNull()
                    t.column("result", .jsonText)
                }
            }
            migrator.registerMigration("v2: submissions") { db in
                // The client's Idempotency-Key: a submission retried after a lost answer finds its job.
                try db.alter(table: "job") { t in t.add(column: "submission", .text) }
                try db.create(index: "job_submission", on: "job", columns: ["submission"], unique: true)
            }
            try migrator.migrate(database)
        } catch {
            throw FileError(path, "cannot open the job database (\(error))")
        }
    }

    /// A job's folder; `id` must be well formed (it is checked again here, as it names a path).
    func folder(of id: String) -> URL {
        precondition(JobRecord.isWellFormedID(id))
        return folder.appendingPathComponent("jobs").appendingPathComponent(id, isDirectory: true)
    }

    func insert(_ job: JobRecord) throws { try database.write { try job.insert($0) } }

    func job(_ id: String) throws -> JobRecord? {
        guard JobRecord.isWellFormedID(id) else { return nil }
        return try database.read { try JobRecord.fetchOne($0, key: id) }
    }

    /// Every job, newest first.
    func all() throws -> [JobRecord] {
        try database.read { try JobRecord.order(Column("created").desc).fetchAll($0) }
    }

    /// The ids of queued jobs in the order they run: one that was running when
    /// the server stopped first, then by submission.
    func queue() throws -> [String] {
        try database.read {
            try String.fetchAll($0, JobRecord.select(Column("id")).filter(Column("state") == JobState.queued.rawValue)
                .order(Column("started") == nil, Column("created")))
        }
    }

    /// Changes one job in a transaction; returns the changed record (nil: no such job).
    @discardableResult
    func update(_ id: String, _ change: (inout JobRecord) throws -> Void) throws -> JobRecord? {
        try database.write { db in
            guard var job = try JobRecord.fetchOne(db, key: id) else { return nil }
            try change(&job)
            try job.update(db)
            return job
        }
    }

    func delete(_ id: String) throws {
        _ = try database.write { try JobRecord.deleteOne($0, key: id) }
        try? FileManager.default.removeItem(at: folder(of: id))
    }

    /// The job submitted with the client's Idempotency-Key `key`, if any.
    func job(submission key: String) throws -> JobRecord? {
        try database.read { try JobRecord.filter(Column("submission") == key).fetchOne($0) }
    }

    /// After a crash: deletes what no job owns — folders of uploads that never
    /// became a job, temporary files — keeping each job's own files (and a queued
    /// job's finished parts of its video, to resume from).
    /// - Returns: how many files and folders were deleted.
    func removeLeftovers() throws -> Int {
        let jobs = Dictionary(uniqueKeysWithValues: try all().map { ($0.id, $0) })
        let root = folder.appendingPathComponent("jobs")
        var removed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] {
            if let job = jobs[name] {
                removed += removeLeftovers(of: job)
            } else if (try? FileManager.default.removeItem(at: root.appendingPathComponent(name))) != nil {
                removed += 1
            }
        }
        return removed
    }

    /// Deletes what is not one of `job`'s files from its folder.
    /// - Returns: how many files and folders were deleted.
    @discardableResult
    func removeLeftovers(of job: JobRecord) -> Int {
        let folder = folder(of: job.id)
        var kept = Set([Upload.fileName] + [ResultFile.enhanced, .comparison, .checkpoint].map(\.rawValue))
        if job.state == .queued || job.state == .running {
            kept.insert(URL(fileURLWithPath: ResumePlan.folder(of: folder.appendingPathComponent(ResultFile.enhanced.rawValue).path)).lastPathComponent)
        }
        var removed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where !kept.contains(name) {
            if name.hasPrefix("still-"), name.hasSuffix(".png") { continue }
            if (try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))) != nil { removed += 1 }
        }
        return removed
    }

    /// After a stop or a crash: jobs that were running are queued again (first in line).
    /// - Returns: how many were.
    func requeueInterrupted() throws -> Int {
        try database.write {
            try JobRecord.filter(Column("state") == JobState.running.rawValue).updateAll($0, Column("state").set(to: JobState.queued.rawValue))
        }
    }
}
